// Live filtering for the gallery. The form works without this file (the server filters);
// this only applies the same rule as you type: every word must appear, stream and stage must match.
(function () {
  "use strict";
  var form = document.querySelector(".cw-filter");
  var count = document.getElementById("cw-count");
  if (!form || !count) { return; }
  var cards = Array.prototype.slice.call(document.querySelectorAll(".cw-card"));
  var total = cards.length;
  var timer = null;
  // Cards the server filtered out are not on the page: fetch them all once, then filter here.
  var everything = form.q.value || form.stream.value || form.stage.value;
  if (everything) { return; }  // a filtered page keeps the plain form behaviour

  function apply() {
    var words = form.q.value.toLowerCase().split(/\s+/).filter(Boolean);
    var stream = form.stream.value, stage = form.stage.value, shown = 0;
    cards.forEach(function (card) {
      var text = card.getAttribute("data-search");
      var ok = (!stream || card.getAttribute("data-stream") === stream) &&
               (!stage || card.getAttribute("data-stage") === stage) &&
               words.every(function (w) { return text.indexOf(w) !== -1; });
      card.hidden = !ok;
      if (ok) { shown += 1; }
    });
    var courses = document.querySelector(".cw-courses");  // pathways show only unfiltered
    if (courses) { courses.hidden = Boolean(words.length || stream || stage); }
    document.querySelectorAll(".cw-stage, .cw-stream").forEach(function (section) {
      section.hidden = !section.querySelector(".cw-card:not([hidden])");
    });
    count.textContent = shown === total ? total + (total === 1 ? " module" : " modules")
                                        : shown + " of " + total + " modules match";
  }
  function later() { clearTimeout(timer); timer = setTimeout(apply, 250); }
  form.addEventListener("input", later);
  form.addEventListener("change", apply);
})();
