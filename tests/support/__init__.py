"""What the tests share, one job to a module. Import from here, never from `conftest`:

- `app`       — a test app's settings: FAST_KEYS, `settings_for`, the one `with_settings`
                override, `need` (skip locally, fail in CI) and `invoke` (a `flask` command).
- `team`      — the organisation every test works in: PASSWORDS, `Team`, `make_team`.
- `pages`     — reading a page as a person or browser does: `csrf`, `error_summary`,
                `page_text`, `Page`, `Tree`, `without_csrf_tokens`.
- `staff`     — the one staff browser, `StaffBrowser` (handed out as the `auth` fixture), and
                what staff do on the pages: `staff_post`, `assign`, `rename`.
- `journey`   — a client's browser, `Phone`, and the answers typed into it: `fill`, `marker`.
- `clients`   — making a client, the one "made a client" type: `MadeClient`, `make_client`,
                `sent_client`, and reading clients back.
- `database`  — the database as someone with a copy of it sees it: raw bytes, every value,
                rows, and what a request changed.
- `consent`   — consent receipts, the words a person was shown, and the append-only ledger.
- `referrals` — partners, their referrals, and the referred person.
- `faults`    — test-only wrappers that hold a write open for a SIGKILL (run by gunicorn and
                as a script by tests/test_faults.py; nothing else imports it).
"""
