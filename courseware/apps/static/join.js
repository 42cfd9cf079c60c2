// A learner's seminar page, made live: the question changes by itself, answers go over a
// websocket. Without this file the page is a plain form. Everything from the server is put on
// the page with textContent, never as markup.
(function () {
  "use strict";
  var box = document.getElementById("cw-question");
  var message = document.getElementById("cw-message");
  if (!box || !window.WebSocket) { return; }
  var base = document.body.getAttribute("data-base-url") || "/";
  var maxText = parseInt(box.getAttribute("data-max"), 10) || 280;
  var token = box.getAttribute("data-token") || "";
  var socket = null, shown = null, retry = 1000, current = null;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function say(text) { message.textContent = text; }

  function render(state) {
    var q = state.question;
    var key = q ? [state.round, q.id, state.accepting].join("|") : "none|" + state.round;
    if (key === shown) { return; }
    var wasNew = shown !== null && (!current || !q || current.id !== q.id);
    shown = key; current = q;
    box.textContent = "";
    if (!q) {
      box.appendChild(el("p", { "class": "cw-panel" }, "Waiting for the presenter to ask a question."));
      return;
    }
    var form = el("form", { method: "post", action: base + "join", id: "cw-answer-form", "class": "cw-panel" });
    form.appendChild(el("input", { type: "hidden", name: "token", value: token }));
    form.appendChild(el("input", { type: "hidden", name: "question", value: q.id }));
    var yours = state.yours || {};
    if (q.kind === "choice") {
      var set = el("fieldset");
      set.appendChild(el("legend", { "class": "cw-question-text" }, q.prompt));
      set.appendChild(el("p", { "class": "cw-meta" }, q.source));
      var list = el("ul", { "class": "cw-options" });
      q.options.forEach(function (option, i) {
        var item = el("li"), label = el("label");
        var input = el("input", { type: "radio", name: "choice", value: String(i), required: "" });
        if (yours.choice === i) { input.checked = true; }
        label.appendChild(input);
        label.appendChild(el("span", {}, option));
        item.appendChild(label);
        list.appendChild(item);
      });
      set.appendChild(list);
      form.appendChild(set);
    } else {
      form.appendChild(el("label", { "for": "cw-text", "class": "cw-question-text" }, q.prompt));
      form.appendChild(el("p", { "class": "cw-meta", id: "cw-hint" },
        q.source + ". One line, up to " + maxText + " characters."));
      var input = el("input", { id: "cw-text", "class": "cw-answer-text", name: "text", type: "text",
        maxlength: String(maxText), required: "", autocomplete: "off", "aria-describedby": "cw-hint" });
      input.value = yours.text || "";
      form.appendChild(input);
    }
    var actions = el("p", { "class": "cw-actions" });
    var button = el("button", { type: "submit" }, "Send my answer");
    if (!state.accepting) {
      button.disabled = true;
      actions.appendChild(button);
      actions.appendChild(el("span", {}, "Answers to this question are closed."));
    } else {
      actions.appendChild(button);
    }
    form.appendChild(actions);
    box.appendChild(form);
    if (wasNew && state.accepting) { say("New question: " + q.prompt); }
  }

  box.addEventListener("submit", function (event) {
    if (!socket || socket.readyState !== 1 || !current) { return; }  // fall back to the form post
    event.preventDefault();
    var form = event.target, data = { type: "answer", question: current.id };
    if (current.kind === "choice") {
      var picked = form.querySelector("input[name=choice]:checked");
      if (!picked) { say("Please choose one of the options."); return; }
      data.choice = parseInt(picked.value, 10);
    } else {
      data.text = form.querySelector("input[name=text]").value;
    }
    say("Sending…");
    socket.send(JSON.stringify(data));
  });

  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + base + "seminar/ws/learner";
    socket = new WebSocket(url);
    socket.onopen = function () { retry = 1000; };
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
      if (data.type === "state") { render(data); }
      else if (data.type === "ack") { say("Thank you: your answer has been sent. You can change it until answers close."); }
      else if (data.type === "error") { say(data.message); }
    };
    socket.onclose = function (event) {
      if (event.code === 4401) { return; }
      if (event.code === 4429) {  // the room is full: keep the message, try again later
        setTimeout(connect, 15000);
        return;
      }
      say("Connection lost; trying again…");
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }
  connect();
})();
