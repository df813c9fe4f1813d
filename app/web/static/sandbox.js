// The sandbox chat page's script (Kesher's own, not vendored): a person plays a customer of the
// business named on the page. Its words and the business come from the page's JSON block
// (#sandbox-page); every text from the server is put on the page with textContent, never as HTML.
"use strict";
(() => {
  const page = JSON.parse(document.getElementById("sandbox-page").textContent);
  const LANG = page.lang;
  const BUSINESS = page.business;
  const T = page.strings;
  const MAX_TEXT = 4096;
  const POLL_MS = 5000;
  const API = "/api/v1/" + encodeURIComponent(BUSINESS) + "/sandbox/messages";
  const STORE = "kesher.sandbox.customer." + BUSINESS;

  const $ = (id) => document.getElementById(id);
  const messages = $("messages"), text = $("text"), send = $("send");
  const customerField = $("customer"), errorLine = $("error"), typing = $("typing");
  const clock = new Intl.DateTimeFormat(LANG === "he" ? "he-IL" : "en-GB",
                                        {hour: "2-digit", minute: "2-digit"});

  function randomHex(bytes) {
    const a = crypto.getRandomValues(new Uint8Array(bytes));
    return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function uuid() {
    // randomUUID exists only in secure contexts; a page on a LAN address over http is not one.
    if (crypto.randomUUID) return crypto.randomUUID();
    const h = randomHex(16).split("");
    h[12] = "4";
    h[16] = "89ab"[parseInt(h[16], 16) & 3];
    const s = h.join("");
    return [s.slice(0, 8), s.slice(8, 12), s.slice(12, 16), s.slice(16, 20), s.slice(20)].join("-");
  }
  function newCustomerId() { return "web-" + randomHex(4); }
  function storedCustomer() {
    try { return localStorage.getItem(STORE); } catch (e) { return null; }
  }
  function storeCustomer(id) {
    try { localStorage.setItem(STORE, id); } catch (e) { /* private mode: keep it in memory */ }
  }

  // What is on screen: the message ids already shown (both directions), for one customer at a
  // time, and the customer's own bubbles drawn on sending, before the server gave them an id.
  let customer = "";
  let generation = 0;      // bumped when the customer changes; late answers for the old one are dropped
  let shown = new Set();
  let unconfirmed = [];
  let arrived = 0;         // bot messages shown since the last send started
  let sending = false;
  let pollError = false;

  function showError(message, fromPoll) {
    errorLine.textContent = T.error + message;
    errorLine.hidden = false;
    pollError = Boolean(fromPoll);
  }
  function clearError() {
    errorLine.textContent = "";
    errorLine.hidden = true;
    pollError = false;
  }
  function tooLong(n) {
    return T.too_long.replace("{n}", String(n)).replace("{max}", String(MAX_TEXT));
  }

  function nearBottom() {
    return messages.scrollHeight - messages.scrollTop - messages.clientHeight < 80;
  }
  function bubble(kind, body, when, author) {
    const stick = nearBottom();
    const el = document.createElement("div");
    el.className = "msg " + kind;
    el.dir = "auto";
    const p = document.createElement("div");
    p.className = "text";
    p.dir = "auto";
    p.textContent = body;
    const meta = document.createElement("div");
    meta.className = "meta";
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = author || (kind === "customer" ? T.you : T.bot);
    const time = document.createElement("time");
    const at = when ? new Date(when) : new Date();
    if (!isNaN(at)) { time.dateTime = at.toISOString(); time.textContent = clock.format(at); }
    meta.append(who, time);
    el.append(p);
    el.append(meta);
    messages.append(el);
    if (stick || kind === "customer") messages.scrollTop = messages.scrollHeight;
    return el;
  }
  // An agent's reply is a person's: their display name, or "the team" when they have none.
  function authorName(message) {
    return message.author === "agent" ? (message.author_name || T.team) : T.bot;
  }
  function customerBubble(message) {
    const drawn = unconfirmed.findIndex((el) => el.dataset.text === message.text);
    if (drawn >= 0) {
      unconfirmed.splice(drawn, 1)[0].dataset.id = String(message.id);
      return;
    }
    bubble("customer", message.text, message.sent_at).dataset.id = String(message.id);
  }
  function botBubble(message) {
    const el = bubble("bot", message.text, message.sent_at, authorName(message));
    el.dataset.author = message.author || "bot";
    if (message.id !== undefined) el.dataset.id = String(message.id);
    const choices = message.choices || [];
    if (choices.length) {
      const row = document.createElement("div");
      row.className = "choices";
      for (const choice of choices) {
        const b = document.createElement("button");
        b.type = "button";
        b.dir = "auto";
        b.textContent = choice.label;
        b.dataset.choice = choice.id;
        b.addEventListener("click", () => pick(row, b, choice));
        row.append(b);
      }
      el.insertBefore(row, el.lastChild);
    }
    return el;
  }

  async function request(method, url, body) {
    const init = {method, headers: {"Accept": "application/json"}, cache: "no-store",
                  credentials: "same-origin"};
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (e) {
      throw new Error(T.network);
    }
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const message = data && data.error && data.error.message;
      throw new Error(message ? String(message) : "HTTP " + response.status);
    }
    return data;
  }

  // Every GET goes through one chain, so two answers never render at the same time.
  let chain = Promise.resolve();
  function refresh(fromPoll) {
    const run = () => fetchNew(fromPoll);
    chain = chain.then(run, run);
    return chain;
  }
  async function fetchNew(fromPoll) {
    const mine = generation;
    const who = customer;
    try {
      const data = await request("GET", API + "?customer=" + encodeURIComponent(who));
      if (mine !== generation) return;
      for (const m of (data && data.messages) || []) {
        const key = String(m.id);
        if (shown.has(key)) continue;
        shown.add(key);
        if (m.direction === "in") { customerBubble(m); continue; }
        botBubble(m);
        arrived += 1;
      }
      if (pollError) clearError();
    } catch (e) {
      if (mine === generation && (fromPoll || errorLine.hidden)) showError(e.message, true);
    }
  }

  // The POST answer has the replies but not their ids, and a reply is listed by GET only once
  // it has been sent. So replies are never drawn from the POST answer: GET is asked again
  // until as many new messages as the POST promised have arrived (or a few seconds pass).
  async function awaitReplies(expected, mine) {
    if (expected <= 0) { await refresh(false); return; }
    typing.textContent = T.typing;
    try {
      const started = Date.now();
      let wait = 120;
      while (mine === generation) {
        await refresh(false);
        if (arrived >= expected || Date.now() - started > 6000) break;
        await new Promise((r) => setTimeout(r, wait));
        wait = Math.min(wait * 2, 1000);
      }
    } finally {
      typing.textContent = "";
    }
  }

  async function post(body, mine, mark) {
    sending = true;
    send.disabled = true;
    arrived = 0;
    try {
      const data = await request("POST", API, Object.assign({customer, message_id: uuid()}, body));
      if (mine !== generation) return true;
      if (mark && data && data.message_id !== undefined) {
        const key = String(data.message_id);
        unconfirmed = unconfirmed.filter((el) => el !== mark);
        if (shown.has(key) && mark.dataset.id !== key) mark.remove();  // the transcript drew it
        else { shown.add(key); mark.dataset.id = key; }
      }
      clearError();
      await awaitReplies(((data && data.replies) || []).length, mine);
      return true;
    } catch (e) {
      if (mine === generation) {
        showError(e.message, false);
        if (mark) {
          unconfirmed = unconfirmed.filter((el) => el !== mark);
          mark.classList.add("failed");
          mark.querySelector(".who").textContent = T.you + " · " + T.failed;
        }
      }
      return false;
    } finally {
      sending = false;
      send.disabled = false;
    }
  }

  // The customer's words on screen at once; the transcript confirms them with their id later.
  function drawn(body) {
    const el = bubble("customer", body);
    el.dataset.text = body;
    unconfirmed.push(el);
    return el;
  }

  async function sendText() {
    if (sending) return;
    const value = text.value;
    if (!value.trim()) return;
    if (value.length > MAX_TEXT) { showError(tooLong(value.length), false); return; }
    const mine = generation;
    const mark = drawn(value);
    text.value = "";
    grow();
    const ok = await post({text: value}, mine, mark);
    if (!ok && mine === generation && !text.value) { text.value = value; grow(); }
    text.focus();
  }

  async function pick(row, button, choice) {
    if (sending) return;
    const buttons = row.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    button.classList.add("picked");
    const mark = drawn(choice.label);
    const ok = await post({choice: choice.id}, generation, mark);
    if (!ok) {
      buttons.forEach((b) => { b.disabled = false; });
      button.classList.remove("picked");
    }
  }

  function useCustomer(id) {
    customer = id;
    customerField.value = id;
    storeCustomer(id);
    generation += 1;
    shown = new Set();
    unconfirmed = [];
    messages.replaceChildren();
    typing.textContent = "";
    clearError();
    return refresh(false);
  }

  function grow() {
    text.style.height = "auto";
    text.style.height = Math.min(text.scrollHeight + 2, 160) + "px";
  }

  $("composer").addEventListener("submit", (e) => { e.preventDefault(); sendText(); });
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendText();
    }
  });
  text.addEventListener("input", grow);
  // maxlength would silently cut a long paste; refuse it whole and say why instead.
  text.addEventListener("paste", (e) => {
    const pasted = (e.clipboardData && e.clipboardData.getData("text")) || "";
    const selected = text.selectionEnd - text.selectionStart;
    const total = text.value.length - selected + pasted.length;
    if (total > MAX_TEXT) {
      e.preventDefault();
      showError(tooLong(total), false);
    }
  });
  customerField.addEventListener("change", () => {
    const id = customerField.value.trim();
    if (id === customer) return;
    useCustomer(id || newCustomerId());
  });
  customerField.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); customerField.blur(); }
  });
  $("new-customer").addEventListener("click", () => { useCustomer(newCustomerId()); text.focus(); });

  useCustomer((storedCustomer() || "").trim().slice(0, 128) || newCustomerId());
  setInterval(() => { if (!sending && !document.hidden) refresh(true); }, POLL_MS);
})();
