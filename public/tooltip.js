// One tooltip for the timeline, placed under (or above) whatever it describes.
// A focused band keeps its tooltip while the mouse wanders over others.

export function createTooltip(el, container) {
  let focused;

  function place(target) {
    const box = container.getBoundingClientRect();
    const r = target.getBoundingClientRect();
    el.hidden = false;
    const width = el.offsetWidth;
    const height = el.offsetHeight;
    // Under the target, centred on its visible part, inside the section.
    const visibleLeft = Math.max(r.left, box.left);
    const visibleRight = Math.min(r.right, box.right);
    const left = Math.min(Math.max(8, (visibleLeft + visibleRight) / 2 - box.left - width / 2), Math.max(8, box.width - width - 8));
    let top = r.bottom - box.top + 6;
    if (r.bottom + 6 + height > window.innerHeight && r.top - height - 6 > 0) top = r.top - box.top - height - 6;
    el.style.left = `${left}px`;
    el.style.top = `${top}px`;
  }

  // Escape dismisses it wherever the focus is, also when the mouse opened it (WCAG 1.4.13).
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || el.hidden) return;
    focused = undefined;
    el.hidden = true;
  });

  function show(target, nodes) {
    el.replaceChildren(...[nodes].flat(Infinity).filter(Boolean));
    place(target);
  }

  return {
    show(target, nodes) {
      show(target, nodes);
      if (target === document.activeElement) focused = { target, nodes };
    },
    /** The mouse left something: go back to the focused band's tooltip, if any. */
    hideUnlessFocused() {
      if (focused && focused.target === document.activeElement && focused.target.isConnected) show(focused.target, focused.nodes);
      else el.hidden = true;
    },
    hide() {
      focused = undefined;
      el.hidden = true;
    },
  };
}
