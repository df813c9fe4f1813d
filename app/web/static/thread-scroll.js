// Kesher's own script (not vendored): an inbox conversation's thread opens at the newest message
// and stays there when a message arrives or the agent's own reply is sent. An agent who scrolled
// up to read keeps their place while new messages come in. Threads are `.thread` elements whose
// hx-get names their conversation; htmx swaps them in anew on every refresh.
(function () {
  const NEAR = 40;  // pixels from the bottom that still count as at the bottom
  // The thread on screen: its conversation, whether it is at the bottom, and where it was left.
  let seen = {key: null, stuck: true, top: 0};

  const conversationOf = (thread) => thread.getAttribute("hx-get") || thread.id;
  const atBottom = (thread) => thread.scrollHeight - thread.scrollTop - thread.clientHeight <= NEAR;
  function remember(thread) {
    seen = {key: conversationOf(thread), stuck: atBottom(thread), top: thread.scrollTop};
  }

  // Scroll events do not bubble: listen in the capture phase.
  document.addEventListener("scroll", (event) => {
    const thread = event.target;
    if (thread instanceof Element && thread.classList.contains("thread")) remember(thread);
  }, true);

  // The agent's own reply takes the thread to the bottom, to show it.
  document.addEventListener("htmx:beforeRequest", (event) => {
    const path = (event.detail.requestConfig && event.detail.requestConfig.path) || "";
    if (/\/reply$/.test(path)) seen.stuck = true;
  });

  function place(root) {
    const threads = root.matches(".thread") ? [root] : root.querySelectorAll(".thread");
    for (const thread of threads) {
      const opened = conversationOf(thread) !== seen.key;
      thread.scrollTop = opened || seen.stuck ? thread.scrollHeight : seen.top;
      remember(thread);
    }
  }
  document.addEventListener("htmx:load", (event) => {
    if (event.detail.elt instanceof Element) place(event.detail.elt);
  });
})();
