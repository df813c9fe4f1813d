// Kesher's own script (not vendored). Browser notifications in the inbox while it is open:
// fed by the queue's live refresh (server-sent events), a notification for each handoff that
// appears in the queue, and for each whose answer time is about to pass, as the agent chose
// on their alerts page. Permission is asked from the button, never on load.
(function () {
  const button = document.getElementById("notify");
  if (!button || !("Notification" in window)) return;
  const wanted = (button.dataset.events || "").split(" ");
  const seen = { handoffs: null, soon: new Set() };

  function show() {
    const state = Notification.permission;
    button.hidden = false;
    button.disabled = state !== "default";
    button.textContent =
      state === "granted" ? button.dataset.on : state === "denied" ? button.dataset.denied : button.dataset.ask;
  }

  function tell(row, words) {
    if (Notification.permission !== "granted") return;
    const who = row.querySelector("strong").textContent.trim();
    const shown = new Notification(words.replace("{who}", who), {
      tag: "kesher-" + row.dataset.handoff + "-" + words.length,
      lang: document.documentElement.lang,
      dir: document.documentElement.dir,
    });
    shown.onclick = () => {
      window.focus();
      window.location.href = "/inbox?h=" + row.dataset.handoff;
    };
  }

  function refreshed() {
    const rows = Array.from(document.querySelectorAll("#queue [data-handoff]"));
    const ids = new Set(rows.map((row) => row.dataset.handoff));
    for (const row of rows) {
      if (seen.handoffs !== null && !seen.handoffs.has(row.dataset.handoff) && wanted.includes("new_handoff")) {
        tell(row, button.dataset.newHandoff);
      }
      if (row.dataset.soon !== undefined && !seen.soon.has(row.dataset.handoff)) {
        seen.soon.add(row.dataset.handoff);
        if (seen.handoffs !== null && wanted.includes("sla_warning")) tell(row, button.dataset.late);
      }
    }
    seen.handoffs = ids;
  }

  // The queue refreshes when something changes; an answer time running out changes nothing,
  // so the queue is also asked for once a minute while SLA warnings are wanted.
  if (wanted.includes("sla_warning")) {
    setInterval(() => {
      const queue = document.getElementById("queue");
      if (queue && Notification.permission === "granted") {
        htmx.ajax("GET", queue.getAttribute("hx-get"), { target: queue });
      }
    }, 60000);
  }

  button.addEventListener("click", () => Notification.requestPermission().then(show));
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "queue") refreshed();
  });
  show();
})();
