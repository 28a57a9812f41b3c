// One tooltip for the timeline, placed under (or above) whatever it describes.
// A focused band keeps its tooltip while the mouse wanders over others.
// The reader can move the pointer onto it, to read or select the quote
// (WCAG 1.4.13): it stays while the pointer is over its target or over it.

/** Space between the target and the tooltip: small, so the pointer crosses nothing else on its way. */
const GAP = 2;
/** Kept free between the tooltip and the window's edge. */
const MARGIN = 8;
/** How long the pointer may take to cross from the target onto the tooltip. */
const GRACE_MS = 300;

export function createTooltip(el, container) {
  let focused;
  let hideTimer;

  /** Under the target if it fits there, else on the side with more room, never outside the window (WCAG 1.4.10). */
  function place(target) {
    const box = container.getBoundingClientRect();
    const r = target.getBoundingClientRect();
    el.hidden = false;
    el.style.maxHeight = '';
    el.scrollTop = 0;
    const width = el.offsetWidth;
    // Centred on the target's visible part, inside the section.
    const visibleLeft = Math.max(r.left, box.left);
    const visibleRight = Math.min(r.right, box.right);
    const left = Math.min(Math.max(8, (visibleLeft + visibleRight) / 2 - box.left - width / 2), Math.max(8, box.width - width - 8));
    const below = window.innerHeight - r.bottom - GAP - MARGIN;
    const above = r.top - GAP - MARGIN;
    const under = el.offsetHeight <= below || below >= above;
    // Taller than the room on that side: it scrolls inside itself (the stylesheet caps it at the window's height).
    el.style.maxHeight = `${Math.max(under ? below : above, 120)}px`;
    const height = el.offsetHeight;
    const wanted = under ? r.bottom + GAP : r.top - GAP - height;
    const top = Math.min(Math.max(wanted, MARGIN), window.innerHeight - height - MARGIN);
    el.style.left = `${left}px`;
    el.style.top = `${top - box.top}px`;
  }

  function cancelHide() {
    clearTimeout(hideTimer);
    hideTimer = undefined;
  }

  function hideNow() {
    cancelHide();
    focused = undefined;
    el.hidden = true;
  }

  // Escape dismisses it wherever the focus is, also when the mouse opened it (WCAG 1.4.13).
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || el.hidden) return;
    hideNow();
  });

  function show(target, nodes) {
    cancelHide();
    el.replaceChildren(...[nodes].flat(Infinity).filter(Boolean));
    place(target);
  }

  /** Back to the focused band's tooltip, if any, else gone. */
  function settle() {
    hideTimer = undefined;
    // The pointer is on it (the reader clicked into it to select the quote, which took the focus from the band): it stays.
    if (el.matches(':hover')) return;
    if (focused && focused.target === document.activeElement && focused.target.isConnected) show(focused.target, focused.nodes);
    else el.hidden = true;
  }

  // On the tooltip itself it stays; leaving it is like leaving its target.
  el.addEventListener('mouseenter', cancelHide);
  el.addEventListener('mouseleave', () => api.hideUnlessFocused());

  const api = {
    show(target, nodes) {
      show(target, nodes);
      if (target === document.activeElement) focused = { target, nodes };
    },
    /** The mouse left something: after a moment, in which it may reach the tooltip, go back to the focused band's tooltip or hide. */
    hideUnlessFocused() {
      cancelHide();
      hideTimer = setTimeout(settle, GRACE_MS);
    },
    hide: hideNow,
  };
  return api;
}
