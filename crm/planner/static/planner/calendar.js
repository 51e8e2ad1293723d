// The calendar: drag a task onto another day (month view) or hour (week and day views) to
// reschedule it. Native HTML5 drag and drop; the server answers JSON and the page reloads
// the grid, so what is shown is always what is stored.
(() => {
  const grid = document.getElementById("calendar");
  if (!grid) return;
  const status = document.getElementById("calendar-status");
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  let dragged = null;

  grid.addEventListener("dragstart", (event) => {
    const item = event.target.closest(".cal-item[draggable=true]");
    if (!item) return;
    dragged = item;
    item.classList.add("cal-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.dataset.task);
  });
  grid.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("cal-dragging");
    dragged = null;
    grid.querySelectorAll(".cal-drop").forEach((cell) => cell.classList.remove("cal-drop"));
  });
  const target = (event) => event.target.closest("[data-date]");
  grid.addEventListener("dragover", (event) => {
    const cell = target(event);
    if (!cell || !dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    grid.querySelectorAll(".cal-drop").forEach((other) => { if (other !== cell) other.classList.remove("cal-drop"); });
    cell.classList.add("cal-drop");
  });
  grid.addEventListener("drop", async (event) => {
    const cell = target(event);
    if (!cell || !dragged) return;
    event.preventDefault();
    const item = dragged;
    const body = new URLSearchParams({ due_date: cell.dataset.date });
    if (cell.dataset.allDay) {
      body.set("all_day", "on");
    } else if (cell.dataset.hour) {
      const minutes = (item.dataset.time || "00:00").split(":")[1] || "00";
      body.set("due_time", `${String(cell.dataset.hour).padStart(2, "0")}:${minutes}`);
    } else if (item.dataset.time) {
      body.set("due_time", item.dataset.time);
    } else {
      body.set("all_day", "on");
    }
    const url = grid.dataset.rescheduleUrl.replace("/0/", `/${item.dataset.task}/`);
    status.textContent = "…";
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "X-CSRFToken": csrf, Accept: "application/json" },
        body,
      });
      if (!response.ok) {
        const answer = await response.json().catch(() => ({}));
        const details = Object.values(answer.errors || {}).flat().join(" ");
        status.textContent = `${grid.dataset.error} ${details}`.trim();
        status.className = "text-danger";
        return;
      }
      status.textContent = grid.dataset.moved;
      status.className = "text-success";
      window.location.reload();
    } catch (error) {
      status.textContent = grid.dataset.error;
      status.className = "text-danger";
    }
  });
})();
