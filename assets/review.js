// Review grid in the browser: slices by wheel or range, right-click to enlarge,
// keyboard shortcuts. No server round trip except labels (through Dash callbacks).
// Component ids come from Python (synanno_dash/ui/client_ids.py) as window.synannoIds.
(function () {
  "use strict";
  const IDS = window.synannoIds || {};
  let hoveredTile = null;

  function tileOf(node) { return node && node.closest ? node.closest(".sd-tile") : null; }

  // Images are URLs (synanno_dash/ui/tile_route.py): the shown slice has its src, the others
  // a data-src that is loaded when the slice is first shown or, soon after the page, at idle.
  function load(img) { if (img.dataset.src && !img.getAttribute("src")) { img.src = img.dataset.src; } }

  function setSlice(tile, z) {
    const ems = tile.querySelectorAll(".sd-tile-view img");
    const count = tile.querySelectorAll(".sd-tile-view img.sd-em").length;
    if (!count) { return; }
    z = Math.max(0, Math.min(count - 1, z));
    ems.forEach(function (img) {
      const shown = Number(img.dataset.z) === z;
      if (shown) { load(img); }
      img.style.display = shown ? "" : "none";
    });
    tile.querySelectorAll(".sd-marker").forEach(function (m) {
      m.classList.toggle("sd-bright", Number(m.dataset.z) === z);
    });
    tile.dataset.slice = String(z);
    const range = tile.querySelector(".sd-slice-range");
    if (range && Number(range.value) !== z) { range.value = String(z); }
    const label = tile.querySelector(".sd-slice-label");
    if (label) { label.textContent = "z " + (Number(label.dataset.z0) + z); }
  }

  const idle = window.requestIdleCallback || function (work) { return setTimeout(work, 200); };
  const preloaded = [];  // Image objects kept alive until their URLs are in the cache
  let preloadedUrls = "";
  let warmTimer = null;

  function preloadNextPage() {
    const holder = document.getElementById(IDS.reviewPreload);
    const urls = holder ? holder.dataset.urls || "" : "";
    if (!urls || urls === preloadedUrls) { return; }
    preloadedUrls = urls;
    preloaded.length = 0;
    urls.split(" ").forEach(function (url) {
      const image = new Image();
      image.decoding = "async";
      image.src = url;
      preloaded.push(image);
    });
  }

  function warmHiddenSlices() {
    document.querySelectorAll(".sd-tile-view img[data-src]:not([src])").forEach(load);
  }

  function initTiles(root) {
    let fresh = false;
    (root || document).querySelectorAll(".sd-tile:not([data-ready])").forEach(function (tile) {
      tile.setAttribute("data-ready", "1");
      setSlice(tile, Number(tile.dataset.slice || 0));
      fresh = true;
    });
    if (fresh || document.querySelector(".sd-tile-view img[data-src]:not([src])")) {
      clearTimeout(warmTimer);  // after the shown slices: the next page, then hidden slices
      warmTimer = setTimeout(function () { idle(function () { preloadNextPage(); warmHiddenSlices(); }); }, 300);
    }
  }

  function toggleOverlay() {
    const grid = document.getElementById(IDS.reviewGrid);
    if (grid) { grid.classList.toggle("sd-no-overlay"); }
  }

  function requestLabel(tile, label) {
    const setProps = window.dash_clientside && window.dash_clientside.set_props;
    if (!setProps) { return; }
    setProps(IDS.reviewLabelRequest, {
      data: { instance_id: Number(tile.dataset.instance), label: label, nonce: Date.now() },
    });
  }

  function click(id) {
    const el = document.getElementById(id);
    if (el && !el.disabled && !el.classList.contains("disabled")) { el.click(); }
  }

  document.addEventListener("wheel", function (event) {
    const tile = tileOf(event.target);
    if (!tile || !event.target.closest(".sd-tile-view")) { return; }
    event.preventDefault();
    setSlice(tile, Number(tile.dataset.slice || 0) + (event.deltaY > 0 ? 1 : -1));
  }, { passive: false });

  document.addEventListener("input", function (event) {
    if (!event.target.classList || !event.target.classList.contains("sd-slice-range")) { return; }
    const tile = tileOf(event.target);
    if (tile) { setSlice(tile, Number(event.target.value)); }
  });

  document.addEventListener("contextmenu", function (event) {
    const view = event.target.closest && event.target.closest(".sd-tile-view");
    if (!view) { return; }
    event.preventDefault();
    const button = tileOf(view).querySelector(".sd-enlarge");
    if (button) { button.click(); }
  });

  document.addEventListener("mouseover", function (event) { hoveredTile = tileOf(event.target); });

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (target && (target.tagName === "INPUT" && target.type !== "range" ||
                   target.tagName === "TEXTAREA" || target.isContentEditable)) { return; }
    if (!document.getElementById(IDS.reviewGrid)) { return; }
    const key = event.key;
    if ((event.ctrlKey || event.metaKey) && (key === "z" || key === "Z")) {
      event.preventDefault();
      click(event.shiftKey ? IDS.reviewRedo : IDS.reviewUndo);
    } else if (key === "ArrowRight") { click(IDS.reviewNext); }
    else if (key === "ArrowLeft") { click(IDS.reviewPrev); }
    else if (key === "o" || key === "O") { toggleOverlay(); }
    else if (hoveredTile && (key === "1" || key === "2" || key === "3")) {
      requestLabel(hoveredTile, { "1": "correct", "2": "incorrect", "3": "unsure" }[key]);
    }
  });

  new MutationObserver(function () { initTiles(document); })
    .observe(document.documentElement, { childList: true, subtree: true });

  window.synannoReview = { setSlice: setSlice, toggleOverlay: toggleOverlay };
})();
