// The length counter of an SMS text: the same arithmetic as
// crm/correspondence/sms/text.py (GSM-7: 160 characters, 153 a part, the extension table
// counts two; anything else UCS-2: 70, 67 a part, a character outside the BMP counts two).
(function () {
  "use strict";
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENDED = "^{}\\[~]|€\f";

  function measure(text) {
    var chars = Array.from(text.replace(/\r\n/g, "\n").trim());
    var gsm = chars.every(function (ch) { return BASIC.indexOf(ch) >= 0 || EXTENDED.indexOf(ch) >= 0; });
    var units = 0;
    chars.forEach(function (ch) {
      if (gsm) { units += EXTENDED.indexOf(ch) >= 0 ? 2 : 1; }
      else { units += ch.codePointAt(0) > 0xffff ? 2 : 1; }
    });
    var single = gsm ? 160 : 70, part = gsm ? 153 : 67;
    var parts = units === 0 ? 0 : (units <= single ? 1 : Math.ceil(units / part));
    return { gsm: gsm, units: units, parts: parts };
  }

  function bind(area) {
    var out = document.getElementById(area.dataset.smsCounter);
    if (!out) { return; }
    function update() {
      var m = measure(area.value);
      var d = out.dataset;
      var text = (m.gsm ? d.labelGsm : d.labelUcs2) + " · " + d.labelChars + ": " + m.units +
        " · " + d.labelParts + ": " + m.parts;
      var over = m.parts > Number(d.maxParts);
      if (over) { text += " · " + d.labelOver; }
      out.textContent = text;
      out.classList.toggle("text-danger", over);
      out.dataset.parts = String(m.parts);
    }
    area.addEventListener("input", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea[data-sms-counter]").forEach(bind);
  });
})();
