// Listen: reads a question and why we ask it aloud, only with a voice on the phone itself
// (localService), so no word leaves it; no such voice, no button. Answers are never read.
(function () {
  var synth = window.speechSynthesis, model = document.getElementById("listen"), added, playing;
  if (!synth || !window.SpeechSynthesisUtterance || !model) return;
  function localVoice(lang) {
    return synth.getVoices().filter(function (v) {
      return v.localService && v.lang.split(/[-_]/)[0].toLowerCase() === lang;
    })[0];
  }
  function done() {
    if (playing) playing.setAttribute("aria-pressed", "false");
    playing = null;
  }
  function stop() {
    done();
    synth.cancel();
  }
  function offer(question) {
    var lang = question.getAttribute("data-listen").split("-")[0].toLowerCase();
    // A question with a recording has its player instead.
    if (!localVoice(lang) || question.querySelector("audio")) return;
    var heading = question.querySelector("legend, label"), why = question.querySelector(".hint");
    var words = [heading, why].filter(Boolean).map(function (el) { return el.textContent.trim(); });
    var button = model.content.firstElementChild.cloneNode(true), place = why || heading;
    place.parentNode.insertBefore(button, place.nextSibling);
    button.addEventListener("click", function () {
      var again = playing === button, voice = localVoice(lang);
      stop();
      if (again || !voice) return;
      var utterance = new SpeechSynthesisUtterance(words.join("\n"));
      utterance.voice = voice;
      utterance.lang = voice.lang;
      utterance.onend = utterance.onerror = function () {
        if (playing === button) done();
      };
      playing = button;
      button.setAttribute("aria-pressed", "true");
      synth.speak(utterance);
    });
    added = true;
  }
  function offerAll() {
    if (!added) Array.prototype.forEach.call(document.querySelectorAll("[data-listen]"), offer);
  }
  offerAll();
  if (synth.addEventListener) synth.addEventListener("voiceschanged", offerAll); // voices come late
  window.addEventListener("pagehide", stop);
})();
