// Follows a plan's background run: asks for its status every second, updates the progress
// bar and the simulated time and tip temperature, and reloads the page when the run is done
// (the result or the reason it failed is then drawn by the server).
(function () {
  "use strict";
  var box = document.getElementById("plan-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("plan-progress-bar");
  var text = document.getElementById("plan-progress-text");
  var status = document.getElementById("plan-status");
  function update(data) {
    status.textContent = data.status_label;
    bar.value = data.share;
    if (data.time_s !== null) {
      text.textContent = Math.round(data.time_s) + " s of " + Math.round(data.duration_s) +
        " s simulated" + (data.tip_c !== null ? ", tip " + data.tip_c.toFixed(1) + " °C" : "");
    }
    if (data.finished) { window.location.reload(); return; }
    window.setTimeout(poll, 1000);
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(update)
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();
