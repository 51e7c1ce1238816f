// The outbox page follows new messages (server-sent events from /outbox/live: each one comes as
// the row the page itself would show) and copies a code with one click.
(function () {
  const live = document.getElementById("outbox-live");
  const table = document.querySelector("table.outbox");
  const empty = document.querySelector(".outbox-empty");
  if (live && table && window.EventSource) {
    const body = table.tBodies[0];
    // EventSource reconnects by itself (after a server restart too), sending the last id it saw.
    const source = new EventSource(live.dataset.liveUrl);
    source.addEventListener("message", function (event) {
      const message = JSON.parse(event.data);
      if (document.getElementById("message-" + message.id)) return;
      body.insertAdjacentHTML("afterbegin", message.html);
      body.rows[0].classList.add("arrived");
      table.hidden = false;
      if (empty) empty.hidden = true;
    });
    // The sandbox was reset: the rows shown are gone, the page starts again from the store.
    source.addEventListener("reset", function () { source.close(); window.location.reload(); });
    source.addEventListener("open", function () { live.classList.remove("offline"); });
    source.addEventListener("error", function () { live.classList.add("offline"); });
  }

  function selectCode(button) {
    const code = button.parentElement.querySelector("code");
    const range = document.createRange();
    range.selectNodeContents(code);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    return selection;
  }

  document.addEventListener("click", async function (event) {
    const button = event.target.closest("button.copy");
    if (!button || button.classList.contains("copied")) return;
    try {
      await navigator.clipboard.writeText(button.dataset.copy);
    } catch (error) {
      // No clipboard API (not a secure context): copy the selected code the old way.
      selectCode(button);
      document.execCommand("copy");
    }
    // Said in words, not by colour alone; the label comes back after a moment.
    const label = button.dataset.label;
    button.dataset.label = button.dataset.copied;
    button.classList.add("copied");
    setTimeout(function () {
      button.dataset.label = label;
      button.classList.remove("copied");
    }, 1500);
  });
})();
