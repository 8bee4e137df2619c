// Quick exit, enhanced: replace this page in the history, and Escape three times leaves too.
// Without JavaScript the link still works: /exit ends the session and redirects.
(function () {
  var link = document.getElementById("quick-exit");
  if (!link) return;
  function leave(event) {
    if (event) event.preventDefault();
    document.body.style.visibility = "hidden";
    window.location.replace(link.href);
  }
  link.addEventListener("click", leave);
  var presses = [];
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var now = Date.now();
    presses = presses.filter(function (t) { return now - t < 2000; });
    presses.push(now);
    if (presses.length >= 3) leave();
  });
})();
