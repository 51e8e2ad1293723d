// The task card: a link to "#complete" (from "My day") opens the completion form.
document.addEventListener("DOMContentLoaded", () => {
  const panel = window.location.hash && document.querySelector(`.collapse${window.location.hash}`);
  if (panel && window.bootstrap) window.bootstrap.Collapse.getOrCreateInstance(panel).show();
});
