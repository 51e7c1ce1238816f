// The hosted login page follows the phone: it moves on by itself when the request is answered.
(function () {
  const search = document.getElementById("country-search");
  const select = document.getElementById("region");
  if (search && select) {
    search.addEventListener("input", function () {
      const q = search.value.trim().toLowerCase().replace(/^\+/, "");
      let first = null;
      for (const option of select.options) {
        const hit = !q || option.text.toLowerCase().includes(q);
        option.hidden = !hit;
        if (hit && first === null) first = option;
      }
      if (first) select.value = first.value;
    });
  }
  // itsme's page shows a QR beside the form: once the app scanned it, the request waits there.
  const qr = document.getElementById("qr-login");
  if (qr) {
    async function scanned() {
      try {
        const response = await fetch(qr.dataset.statusUrl, { headers: { Accept: "application/json" } });
        const body = await response.json().catch(() => ({}));
        if (body.status && body.status !== "no_request") {
          window.location.assign(qr.dataset.waitUrl);
          return;
        }
      } catch (error) {
        // The server may restart: keep trying.
      }
      setTimeout(scanned, 1000);
    }
    setTimeout(scanned, 1000);
  }
  const status = document.getElementById("login-status");
  if (!status) return;
  async function poll() {
    try {
      const response = await fetch(status.dataset.statusUrl, { headers: { Accept: "application/json" } });
      const body = await response.json().catch(() => ({}));
      if (body.status && body.status !== "pending") {
        window.location.assign(status.dataset.doneUrl);
        return;
      }
    } catch (error) {
      // The server may restart: keep trying.
    }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();
