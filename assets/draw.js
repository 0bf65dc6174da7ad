// Correction views in the browser: clicks on a figure in data coordinates, slices by wheel
// and keys, keyboard shortcuts per tool. Server work goes through Dash stores and buttons.
// Component ids come from Python (synanno_dash/ui/client_ids.py) as window.synannoIds.
(function () {
  "use strict";
  const IDS = window.synannoIds || {};

  function setProps(id, props) {
    const dc = window.dash_clientside;
    if (dc && dc.set_props) { dc.set_props(id, props); }
  }

  // A click on a plot inside [data-click-store]: its data coordinates, exactly where the
  // mouse was (plotly's own clickData reports the last *hovered* point, which can lag).
  document.addEventListener("click", function (event) {
    const drag = event.target.closest && event.target.closest(".nsewdrag");
    const wrapper = drag && drag.closest("[data-click-store]");
    if (!wrapper) { return; }
    const gd = drag.closest(".js-plotly-plot");
    const layout = gd && gd._fullLayout;
    if (!layout || String(layout.dragmode).indexOf("draw") === 0) { return; }
    const rect = drag.getBoundingClientRect();
    const x = layout.xaxis.p2d(event.clientX - rect.left);
    const y = layout.yaxis.p2d(event.clientY - rect.top);
    setProps(wrapper.dataset.clickStore, { data: { x: x, y: y, nonce: Date.now() } });
  }, true);

  function drawingWrapper() { return document.getElementById(IDS.drawWrapper); }

  function stepSlice(delta) {
    const wrapper = drawingWrapper();
    if (!wrapper) { return; }
    const count = Number(wrapper.dataset.slices || 1);
    const next = Math.max(0, Math.min(count - 1, Number(wrapper.dataset.slice || 0) + delta));
    if (next !== Number(wrapper.dataset.slice)) {
      wrapper.dataset.slice = String(next);
      setProps(IDS.drawSlice, { value: next });
    }
  }

  document.addEventListener("wheel", function (event) {
    const wrapper = drawingWrapper();
    if (!wrapper || !wrapper.contains(event.target)) { return; }
    event.preventDefault();
    stepSlice(event.deltaY > 0 ? 1 : -1);
  }, { passive: false });

  document.addEventListener("click", function (event) {
    const cell = event.target.closest && event.target.closest(".sd-strip-cell");
    if (!cell || !drawingWrapper()) { return; }
    setProps(IDS.drawSlice, { value: Number(cell.dataset.k) });
  });

  function click(id) {
    const el = document.getElementById(id);
    if (el && !el.disabled) { el.click(); }
  }

  const TOOL_KEYS = { c: "points", d: "freehand", "1": "pre", "2": "post" };
  const BUTTON_KEYS = { f: IDS.drawFill, r: IDS.drawRevise, s: IDS.drawSave, x: IDS.drawClear,
                        u: IDS.drawAuto, Backspace: IDS.drawPointBack, Escape: IDS.drawDiscard };

  document.addEventListener("keydown", function (event) {
    if (!drawingWrapper()) { return; }
    const target = event.target;
    if (target && (target.tagName === "INPUT" && target.type !== "radio" ||
                   target.tagName === "TEXTAREA" || target.isContentEditable)) { return; }
    const key = event.key;
    if ((event.ctrlKey || event.metaKey) && (key === "z" || key === "Z")) {
      event.preventDefault();
      click(event.shiftKey ? IDS.drawRedo : IDS.drawUndo);
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    const lower = key.length === 1 ? key.toLowerCase() : key;
    if (TOOL_KEYS[lower]) { setProps(IDS.drawTool, { value: TOOL_KEYS[lower] }); }
    else if (BUTTON_KEYS[lower]) { event.preventDefault(); click(BUTTON_KEYS[lower]); }
    else if (key === "ArrowUp" || key === "PageUp") { event.preventDefault(); stepSlice(-1); }
    else if (key === "ArrowDown" || key === "PageDown") { event.preventDefault(); stepSlice(1); }
  });
})();
