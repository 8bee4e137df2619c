"""Groundwork's default settings. Every one can be overridden (see config/__init__.py).

Secrets have no default on purpose: production refuses to start without them.
"""

# "production" (the default: refuses to start without its secrets), "development" or "testing".
ENV = "production"

# Secrets. Make each with: python -c "import secrets; print(secrets.token_hex(32))"
SECRET_KEY = None  # signs session cookies
LOOKUP_PEPPER = None  # hex; mixed into the return-code lookup hash. Never change it once used.

# Storage. Empty means a SQLite file in the instance folder.
DATABASE_URL = None
# How many hosts run Groundwork against this database. Production refuses SQLite unless this is
# 1 (several hosts would each keep a file of their own), and refuses the memory:// rate-limit
# store when it is more than 1 (each host would count tries apart). See docs/deployment.md.
HOSTS = None

# What a person sees.
# Neutral on purpose: page titles can be seen over a shoulder. Empty means the word "Forms" in
# the person's own language; a name set here is shown as it is, in every language.
CLIENT_SITE_NAME = None
STAFF_SITE_NAME = "Groundwork"
ORGANISATION_NAME = "Groundwork"
QUICK_EXIT_URL = "https://www.bbc.co.uk/weather"
# The address people open, like "https://forms.example.org": printed on referral cards (as
# "forms.example.org/referral-code") and in invite links. Set it in production: without it the
# address a page was opened at is used, and behind a proxy that can be an inside address.
PUBLIC_URL = None
# The locales whose catalogs are complete (see translations/STATUS.md for what is reviewed).
SHIPPED_LOCALES = ["en", "ar", "fa", "uk", "fr", "es", "ps", "ti", "so", "ckb"]
DEFAULT_LOCALE = "en"

# Sessions (DESIGN.md §6).
SESSION_IDLE_MINUTES = 30
STAFF_SESSION_HOURS = 12
SIGN_IN_STEP_MINUTES = 10  # between a right password and a right two-factor code
SECURE_COOKIES = True  # Secure flag and the __Host- prefix; development turns it off
BEHIND_TLS = True  # send HSTS

# Requests. Large enough for a 100 KB answer to reach its kind "too long" message.
MAX_CONTENT_LENGTH = 512 * 1024
MAX_FORM_MEMORY_SIZE = 512 * 1024

# Argon2id cost for keys derived from passwords, recovery phrases, invites and return codes.
KDF_ITERATIONS = 3
KDF_MEMORY_KIB = 65536
KDF_LANES = 4
# The lookup hash must stay the same for the life of a deployment: its cost is fixed here.
LOOKUP_KDF_ITERATIONS = 3
LOOKUP_KDF_MEMORY_KIB = 65536
LOOKUP_KDF_LANES = 4
# Staff password hashes (argon2-cffi); rehashed at sign-in when these change.
PASSWORD_HASH_TIME_COST = 3
PASSWORD_HASH_MEMORY_KIB = 65536
PASSWORD_HASH_PARALLELISM = 4

# Throttling (Flask-Limiter). Use a shared store such as redis:// with more than one process.
RATELIMIT_STORAGE_URI = "memory://"
# A store that does not answer within a second counts as away: each process then counts on its
# own until it answers again (docs/decisions.md, "When Redis is away").
RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
SIGN_IN_LIMIT_PER_ADDRESS = "10 per minute; 60 per hour"
SIGN_IN_LIMIT_PER_ACCOUNT = "5 per minute; 30 per hour"
SIGN_IN_LIMIT_GLOBAL = "300 per minute"
FAILED_SIGN_INS_BEFORE_PAUSE = 10
SIGN_IN_PAUSE_MINUTES = 15
# A browser a staff member has fully signed in on is "their device" for this long: its tries
# have a budget of their own and are never paused by someone guessing elsewhere.
DEVICE_DAYS = 90

# Invitations, and partners' referrals.
INVITE_DAYS = 7
REFERRAL_DAYS = 30
# Typed referral codes that find nothing, per address (see the return codes below).
REFERRAL_CODE_LIMIT_PER_ADDRESS = "60 per hour"
API_LIMIT_PER_TOKEN = "120 per minute"  # noqa: S105 - a rate, not a secret

# Flask-WTF. The token lives as long as the session; the Referer check is off because every
# page sends Referrer-Policy: no-referrer (SameSite cookies and the token still guard POSTs).
WTF_CSRF_TIME_LIMIT = None
WTF_CSRF_SSL_STRICT = False

# How many proxies in front of the app set X-Forwarded-For/-Proto (0: none, trust nothing).
TRUSTED_PROXIES = 0

# Static files are served with a version in the URL, so they can be cached.
SEND_FILE_MAX_AGE_DEFAULT = 86400

# Compression (Flask-Compress): every client page, with its CSS and script, fits in 14 KB as
# sent (DESIGN.md §9; `make weight` measures it). Pages, CSS, script and JSON are compressed
# with Brotli where the browser offers it (over HTTPS), otherwise with gzip.
COMPRESS_MIMETYPES = [
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/json",
]
COMPRESS_ALGORITHM = ["br", "gzip"]

# Return codes (and typed referral codes): only a well-formed code that finds nothing counts,
# per address and across the whole service; an empty or mistyped box counts nowhere. One
# address is a whole shelter or drop-in on shared Wi-Fi: twenty people who each mistype
# twice still get in, while a guesser gets about 60 tries an hour. SECURITY.md has the sums.
RETURN_CODE_LIMIT_PER_ADDRESS = "60 per hour"
RETURN_CODE_LIMIT_GLOBAL = "1200 per hour"
# Every try at a code from one address, well-formed or not: a flood of junk stops here.
CODE_TRIES_PER_ADDRESS = "300 per hour"

# Check-ins a client can send in one day (a cap on a form anyone in a visit can post).
CHECK_INS_PER_DAY = 5

# "Are we on track?" reviews: one is due after this many sessions (check-ins, prepared or
# not) or this many days since coaching began or since the last review, whichever is first.
REVIEW_EVERY_SESSIONS = 4
REVIEW_EVERY_DAYS = 42
# Reviews a person can send in one day (a cap on a form anyone in a visit can post).
REVIEWS_PER_DAY = 3

# Retention (flask retention run): drafts never sent, and clients after they were closed.
RETENTION_DRAFT_DAYS = 30
RETENTION_CLOSED_DAYS = 365

# Notices to staff by email (intake/notices.py): only that there is something in Groundwork for
# them. Empty SMTP_URL: none are queued or sent. smtps://user:password@host:465 (TLS from the
# start) or smtp+starttls://user:password@host:587; smtp://localhost:25 for a relay on this
# machine. `flask notices send` sends them (a timer runs it: docs/deployment.md).
SMTP_URL = None
SMTP_FROM = None  # the address notices come from, like groundwork@example.org
SMTP_CA_FILE = None  # a CA to trust beyond the system's, for an internal mail server
SMTP_TIMEOUT = 10  # seconds to wait for the mail server
# How each kind of notice reaches staff who have not chosen for themselves: "at_once",
# "daily" (one email at NOTICE_DIGEST_HOUR, UTC, with the day's others) or "never".
NOTICE_DEFAULTS = {
    "intake_waiting": "at_once",
    "assigned": "at_once",
    "check_in": "at_once",
    "change_asked": "at_once",
    "review_sent": "daily",
    "review_due": "daily",
    "voice_waiting": "daily",
}
NOTICE_DIGEST_HOUR = 8
# A decision a coach recorded by voice that the person has not confirmed or changed themselves
# after this many days: their coach is told once (a notice of the kind "voice_waiting").
VOICE_CONFIRM_REMIND_DAYS = 14

# Webhooks to partners (intake/webhooks.py), sent with the notices by `flask notices send`:
# signed per Standard Webhooks, only to public https:// addresses.
WEBHOOK_TIMEOUT = 15  # seconds to wait for a partner's receiver
WEBHOOK_CA_FILE = None  # a CA to trust beyond the system's (the tests' own)
# Tests only: let webhooks go to loopback and private addresses. Production refuses to start
# with it, so a partner can never make Groundwork call into its own network.
WEBHOOKS_ALLOW_PRIVATE = False
