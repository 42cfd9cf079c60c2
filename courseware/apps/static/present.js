// The presenter's view: live results, moderation, questions. Learners' words are only ever put
// on the page with textContent, so markup or script in an answer shows as the text it is.
(function () {
  "use strict";
  var base = document.body.getAttribute("data-base-url") || "/";
  var $ = function (id) { return document.getElementById(id); };
  var socket = null, retry = 1000, lastTotal = null, lastQuestion = null;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  // A click made while the page is still connecting (or reconnecting) is kept and sent once the
  // connection is open, so a presenter's "Ask the room" is never silently lost.
  var pending = [];
  function send(data) {
    if (socket && socket.readyState === 1) { socket.send(JSON.stringify(data)); return; }
    pending.push(data);
    $("cw-announce").textContent = "Not connected yet: this will be sent as soon as the connection is back.";
  }
  function flush() {
    var queued = pending;
    pending = [];
    queued.forEach(function (data) { socket.send(JSON.stringify(data)); });
  }
  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

  function renderCurrent(state) {
    var box = $("cw-current"), q = state.question;
    box.textContent = "";
    $("cw-close").disabled = !(q && state.accepting);
    if (!q) { box.appendChild(el("p", {}, "No question is open yet.")); return; }
    box.appendChild(el("p", { "class": "cw-meta" }, q.source));
    box.appendChild(el("p", { "class": "cw-question-text", id: "cw-question-prompt" }, q.prompt));
    box.appendChild(el("p", { id: "cw-status" }, state.accepting ? "Taking answers now." : "Answers are closed."));
  }

  function renderResults(state) {
    var box = $("cw-results"), r = state.results, q = state.question;
    box.textContent = "";
    if (!q || !r) { return; }
    var count = el("p", { id: "cw-total" }, plural(r.total, "answer", "answers"));
    box.appendChild(count);
    if (r.suppressed) {
      box.appendChild(el("p", { "class": "cw-note", id: "cw-suppressed" },
        "Results appear when at least " + r.min_group + " people have answered."));
    } else if (q.kind === "choice") {
      var table = el("table", { "class": "cw-chart", id: "cw-chart" });
      table.appendChild(el("caption", { "class": "cw-visually-hidden" }, "Answers to: " + q.prompt));
      var head = el("tr");
      ["Answer", "Share", "Count"].forEach(function (h) { head.appendChild(el("th", { scope: "col" }, h)); });
      var thead = el("thead"); thead.appendChild(head); table.appendChild(thead);
      var body = el("tbody");
      q.options.forEach(function (option, i) {
        var n = r.counts[i], pct = r.total ? Math.round(100 * n / r.total) : 0;
        var row = el("tr");
        row.appendChild(el("th", { scope: "row" }, option));
        var cell = el("td", { "class": "cw-bar-cell" });
        var bar = el("div", { "class": "cw-bar", "aria-hidden": "true" });
        bar.style.width = pct + "%";
        cell.appendChild(bar);
        cell.appendChild(el("span", { "class": "cw-visually-hidden" }, pct + "%"));
        row.appendChild(cell);
        row.appendChild(el("td", { "class": "cw-num" }, n + " (" + pct + "%)"));
        body.appendChild(row);
      });
      table.appendChild(body);
      box.appendChild(table);
    } else {
      box.appendChild(el("h3", {}, "Approved answers"));
      if (!r.approved.length) { box.appendChild(el("p", {}, "None approved yet.")); }
      var list = el("ul", { "class": "cw-texts", id: "cw-approved" });
      r.approved.forEach(function (text, i) {
        var li = el("li");
        li.appendChild(el("span", { "class": "cw-text" }, text));
        var id = (state.withdraw || [])[i];
        if (id) {  // the room screen hides these controls
          var back = el("button", { type: "button", "class": "cw-secondary cw-controls", "aria-label": "Withdraw: " + text }, "Withdraw");
          back.addEventListener("click", function () { send({ type: "withdraw", answer: id }); });
          li.appendChild(document.createTextNode(" "));
          li.appendChild(back);
        }
        list.appendChild(li);
      });
      box.appendChild(list);
    }
    if (q.id !== lastQuestion || r.total !== lastTotal) {
      $("cw-announce").textContent = plural(r.total, "answer", "answers") + " so far.";
    }
    lastQuestion = q.id; lastTotal = r.total;
  }

  // The moderation queue, grouped by what the reply coder found in each answer; the codes are
  // words next to the answer (never colour alone).
  function renderQueue(state) {
    var box = $("cw-queue");
    box.textContent = "";
    $("cw-queue-empty").hidden = state.queue.length > 0;
    (state.groups || []).forEach(function (group) {
      var count = plural(group.answers.length, "answer", "answers");
      box.appendChild(el("h3", { "class": "cw-code-group" }, group.title + " (" + count + ")"));
      var list = el("ul", { "class": "cw-texts" });
      group.answers.forEach(function (item) {
        var li = el("li");
        li.appendChild(el("span", { "class": "cw-text" }, item.text));
        if (item.codes.length) {
          li.appendChild(el("span", { "class": "cw-meta cw-codes" }, " Codes: " + item.codes.join(", ") + "."));
        }
        var actions = el("span", { "class": "cw-actions" });
        var yes = el("button", { type: "button", "aria-label": "Approve: " + item.text }, "Approve");
        var no = el("button", { type: "button", "class": "cw-secondary", "aria-label": "Reject: " + item.text }, "Reject");
        yes.addEventListener("click", function () { send({ type: "approve", answer: item.id }); });
        no.addEventListener("click", function () { send({ type: "reject", answer: item.id }); });
        actions.appendChild(yes); actions.appendChild(no);
        li.appendChild(actions);
        list.appendChild(li);
      });
      box.appendChild(list);
    });
    renderCodeSummary(state);
  }

  // "Most of you explored; few named the fear": how many answers carry each code (all answers to
  // the question, moderated or not), once enough people have answered.
  function renderCodeSummary(state) {
    var box = $("cw-code-summary"), c = state.codes;
    box.textContent = "";
    if (!c) { return; }
    box.appendChild(el("h3", {}, "What the written answers do"));
    if (!c.counts.length) {
      box.appendChild(el("p", {}, c.coded ? "The coder found none of the ten codes so far." : "Not coded yet."));
      return;
    }
    var list = el("ul", { id: "cw-code-counts" });
    c.counts.forEach(function (item) {
      list.appendChild(el("li", {}, item.title + ": " + item.count + " of " + c.coded + " coded answers"));
    });
    box.appendChild(list);
    if (c.coded < c.total) {
      box.appendChild(el("p", { "class": "cw-note" }, (c.total - c.coded) + " not coded (yet)."));
    }
  }

  function render(state) {
    $("cw-connected").textContent = plural(state.connected, "person", "people") + " connected.";
    $("cw-round").textContent = String(state.round);
    renderCurrent(state);
    renderResults(state);
    renderQueue(state);
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-open]");
    if (target) { send({ type: "open", question: target.getAttribute("data-open") }); }
  });
  $("cw-close").addEventListener("click", function () { send({ type: "close" }); });
  $("cw-reset").addEventListener("click", function () {
    if (window.confirm("Start a new group? The current answers are kept for the download but leave the screen.")) {
      send({ type: "reset" });
    }
  });

  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + base + "seminar/ws/presenter";
    socket = new WebSocket(url);
    socket.onopen = function () { retry = 1000; flush(); };
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
      if (data.type === "state") { render(data); }
      else if (data.type === "error") { $("cw-announce").textContent = data.message; }
    };
    socket.onclose = function (event) {
      if (event.code === 4403) { $("cw-connected").textContent = "Not allowed: open the presenter link again."; return; }
      $("cw-connected").textContent = "Connection lost; trying again…";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }
  connect();
})();
