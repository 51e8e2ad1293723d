// The deal form's client picker: a suggestion fills the hidden contact/company id.
(function () {
  "use strict";
  var picker = document.getElementById("client-picker");
  if (!picker) return;
  function setChosen(kind, id, name) {
    var input = picker.querySelector('input[name="' + kind + '"]');
    var badge = picker.querySelector('[data-chosen="' + kind + '"]');
    input.value = id || "";
    badge.querySelector("bdi").textContent = name || "";
    badge.hidden = !id;
  }
  picker.addEventListener("click", function (event) {
    var choice = event.target.closest("[data-client-id]");
    if (choice) {
      setChosen(choice.dataset.clientKind, choice.dataset.clientId, choice.dataset.clientName);
      document.getElementById("client-results").innerHTML = "";
      document.getElementById("client-q").value = "";
      return;
    }
    var clear = event.target.closest("[data-clear]");
    if (clear) setChosen(clear.dataset.clear, "", "");
  });
})();
