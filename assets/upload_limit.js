// A file larger than an upload's limit is not sent (dcc.Upload's max_size); say so, with the
// size and the limit, under the upload (see synanno_dash/ui/uploads.py).
(function () {
  "use strict";

  function megabytes(n) { return (n / 1048576).toFixed(n < 10485760 ? 1 : 0) + " MB"; }

  function check(files, box) {
    const max = Number(box.dataset.maxBytes);
    const note = box.querySelector(".sd-upload-limit");
    if (!note || !files) { return; }
    const tooBig = Array.prototype.filter.call(files, function (f) { return f.size > max; });
    note.textContent = tooBig.length
      ? tooBig[0].name + " is " + megabytes(tooBig[0].size) + "; an upload may be at most " +
        megabytes(max) + ". It was not sent: choose a smaller file, or ask the people who " +
        "host this instance to raise SYNANNO_MAX_UPLOAD_BYTES."
      : "";
  }

  function boxOf(node) { return node && node.closest ? node.closest("[data-max-bytes]") : null; }

  document.addEventListener("change", function (event) {
    const box = boxOf(event.target);
    if (box) { check(event.target.files, box); }
  }, true);
  document.addEventListener("drop", function (event) {
    const box = boxOf(event.target);
    if (box && event.dataTransfer) { check(event.dataTransfer.files, box); }
  }, true);
})();
