// iamdb console: small conveniences over pages that work without them.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Forms that destroy something ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
    });
  });
  // Copy buttons beside code blocks.
  document.querySelectorAll("pre[data-copy]").forEach(function (pre) {
    if (!navigator.clipboard) return;
    var b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.textContent = "Copy";
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(pre.textContent).then(function () { b.textContent = "Copied"; });
    });
    pre.insertAdjacentElement("afterend", b);
  });
  // The JSON editor: a Format button and a parse check as one types; the server's
  // validation (as iamdb policy validate) is what counts.
  document.querySelectorAll("textarea.json").forEach(function (ta) {
    var note = document.createElement("p");
    note.className = "muted";
    note.setAttribute("aria-live", "polite");
    var fmt = document.createElement("button");
    fmt.type = "button";
    fmt.className = "secondary";
    fmt.textContent = "Format JSON";
    fmt.addEventListener("click", function () {
      try { ta.value = JSON.stringify(JSON.parse(ta.value), null, 2); note.textContent = ""; }
      catch (err) { note.textContent = "Not JSON yet: " + err.message; }
    });
    ta.addEventListener("input", function () {
      try { JSON.parse(ta.value); note.textContent = "JSON syntax ok"; }
      catch (err) { note.textContent = "JSON syntax: " + err.message; }
    });
    ta.insertAdjacentElement("afterend", note);
    ta.insertAdjacentElement("afterend", fmt);
  });
});
