// The gallery's lightbox. Thumbnails are plain links to the image's page, so
// the gallery works without JavaScript; with it, selecting one opens the
// display-size image in a modal <dialog> over the page: previous/next (buttons,
// arrow keys, a swipe on a touch screen), zoom (buttons, + - 0, a click on the
// image), Escape or the close button to leave, and focus back on the thumbnail.
(function () {
  "use strict";
  var dialog = document.getElementById("viewer");
  if (!dialog || typeof dialog.showModal !== "function") return;
  var items = Array.prototype.slice.call(document.querySelectorAll("a.viewer-item"));
  var stage = dialog.querySelector(".viewer-stage");
  var img = dialog.querySelector(".viewer-image");
  var prev = dialog.querySelector(".viewer-prev");
  var next = dialog.querySelector(".viewer-next");
  var ZOOMS = [1, 1.5, 2, 3, 4];
  var index = 0;
  var zoom = 0;
  var fitWidth = 0;
  var opener = null;

  function setZoom(level) {
    level = Math.max(0, Math.min(ZOOMS.length - 1, level));
    if (level > 0 && zoom === 0) {
      // Zoom is relative to the fitted size, measured before leaving it.
      fitWidth = img.clientWidth || img.naturalWidth || stage.clientWidth;
    }
    // Keep the point at the centre of the view where it is.
    var cx = (stage.scrollLeft + stage.clientWidth / 2) / (stage.scrollWidth || 1);
    var cy = (stage.scrollTop + stage.clientHeight / 2) / (stage.scrollHeight || 1);
    zoom = level;
    if (zoom === 0) {
      img.style.width = img.style.maxWidth = img.style.maxHeight = "";
    } else {
      img.style.maxWidth = img.style.maxHeight = "none";
      img.style.width = Math.round(fitWidth * ZOOMS[zoom]) + "px";
      stage.scrollLeft = cx * stage.scrollWidth - stage.clientWidth / 2;
      stage.scrollTop = cy * stage.scrollHeight - stage.clientHeight / 2;
    }
    dialog.dataset.zoom = String(ZOOMS[zoom]);
    dialog.querySelector(".viewer-zoom").textContent =
      zoom === 0 ? "Fit" : "×" + ZOOMS[zoom];
  }

  function preload(i) {
    if (i >= 0 && i < items.length) new Image().src = items[i].dataset.display;
  }

  function show(i) {
    if (i < 0 || i >= items.length) return;
    index = i;
    var item = items[i];
    setZoom(0);
    img.src = item.dataset.display;
    img.alt = item.dataset.caption;
    dialog.querySelector(".viewer-caption").textContent = item.dataset.caption;
    dialog.querySelector(".viewer-position").textContent = (i + 1) + " of " + items.length;
    dialog.querySelector(".viewer-details").href = item.href;
    dialog.querySelector(".viewer-download").href = item.dataset.original;
    dialog.dataset.index = String(i);
    prev.disabled = i === 0;
    next.disabled = i === items.length - 1;
    preload(i + 1);
    preload(i - 1);
  }

  items.forEach(function (item, i) {
    item.addEventListener("click", function (event) {
      // Ctrl/Cmd/Shift-click still opens the image's page, as a link does.
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      opener = item;
      dialog.showModal();
      show(i);
    });
  });

  var actions = {
    prev: function () { show(index - 1); },
    next: function () { show(index + 1); },
    "zoom-in": function () { setZoom(zoom + 1); },
    "zoom-out": function () { setZoom(zoom - 1); },
    close: function () { dialog.close(); }
  };
  dialog.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action]");
    if (button) actions[button.dataset.action]();
  });

  var keys = {
    ArrowLeft: actions.prev,
    ArrowRight: actions.next,
    Home: function () { show(0); },
    End: function () { show(items.length - 1); },
    "+": actions["zoom-in"],
    "=": actions["zoom-in"],
    "-": actions["zoom-out"],
    "0": function () { setZoom(0); }
  };
  dialog.addEventListener("keydown", function (event) {
    var key = keys[event.key];
    if (!key || event.ctrlKey || event.metaKey || event.altKey) return;
    event.preventDefault();
    key();
  });
  // Escape closes the dialog natively; either way, focus goes back.
  dialog.addEventListener("close", function () {
    setZoom(0);
    if (opener) opener.focus();
  });

  // A click (or tap) on the image zooms in, or back to fit.
  var dragged = false;
  img.addEventListener("click", function () {
    if (!dragged) setZoom(zoom === 0 ? 2 : 0);
    dragged = false;
  });
  // Mouse: dragging pans a zoomed image (a touch screen scrolls it natively).
  var drag = null;
  stage.addEventListener("pointerdown", function (event) {
    if (event.pointerType === "touch" || zoom === 0) return;
    drag = { x: event.clientX, y: event.clientY, left: stage.scrollLeft, top: stage.scrollTop };
    dragged = false;
  });
  stage.addEventListener("pointermove", function (event) {
    if (!drag) return;
    var dx = event.clientX - drag.x;
    var dy = event.clientY - drag.y;
    dragged = dragged || Math.abs(dx) > 5 || Math.abs(dy) > 5;
    stage.scrollLeft = drag.left - dx;
    stage.scrollTop = drag.top - dy;
  });
  ["pointerup", "pointercancel"].forEach(function (name) {
    stage.addEventListener(name, function () { drag = null; });
  });
  // Touch: a horizontal swipe on a fitted image moves to the next or previous.
  var touch = null;
  stage.addEventListener("touchstart", function (event) {
    touch = event.touches.length === 1
      ? { x: event.touches[0].clientX, y: event.touches[0].clientY } : null;
  }, { passive: true });
  stage.addEventListener("touchend", function (event) {
    if (!touch || zoom !== 0) return;
    var dx = event.changedTouches[0].clientX - touch.x;
    var dy = event.changedTouches[0].clientY - touch.y;
    touch = null;
    if (Math.abs(dx) > 50 && Math.abs(dx) > 2 * Math.abs(dy)) show(dx < 0 ? index + 1 : index - 1);
  }, { passive: true });
  window.addEventListener("resize", function () { if (dialog.open) setZoom(0); });
})();
