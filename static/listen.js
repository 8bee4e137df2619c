// Listen (docs/decisions.md): reads a question and why we ask it aloud, only ever with a voice
// on the phone itself (localService); without one, no button. Answers are never read.
(function () {
  var synth = window.speechSynthesis, model = document.getElementById("listen"), playing;
  if (!synth || !window.SpeechSynthesisUtterance || !model) return;
  function primary(code) {
    return code.split(/[-_]/)[0].toLowerCase();
  }
  function voiceFor(lang) {
    return synth.getVoices().filter(function (v) {
      return v.localService && primary(v.lang) === lang;
    })[0];
  }
  function stop(cancel) {
    if (playing) playing.setAttribute("aria-pressed", "false");
    playing = null;
    if (cancel) synth.cancel();
  }
  function offer(question) {
    var lang = primary(question.getAttribute("data-listen"));
    // Once only; and a question with a recording has its player instead.
    if (!voiceFor(lang) || question.querySelector("audio, .listen")) return;
    var heading = question.querySelector("legend, label"), why = question.querySelector(".hint");
    var words = [heading, why].filter(Boolean).map(function (el) { return el.textContent.trim(); });
    var button = model.content.firstElementChild.cloneNode(true), place = why || heading;
    place.parentNode.insertBefore(button, place.nextSibling);
    button.addEventListener("click", function () {
      var again = playing === button, voice = voiceFor(lang); // voices come and go
      stop(true);
      if (again || !voice) return;
      var utterance = new SpeechSynthesisUtterance(words.join("\n"));
      utterance.voice = voice;
      utterance.lang = voice.lang;
      utterance.onend = utterance.onerror = function () {
        if (playing === button) stop();
      };
      playing = button;
      button.setAttribute("aria-pressed", "true");
      synth.speak(utterance);
    });
  }
  function offerAll() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-listen]"), offer);
  }
  offerAll();
  if (synth.addEventListener) synth.addEventListener("voiceschanged", offerAll); // often late
  window.addEventListener("pagehide", function () { stop(true); });
})();
