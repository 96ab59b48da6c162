"""The web chat's look: its theme (system fonts), stylesheet and one piece of page script
(the "Show in document" links)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import gradio as gr

SANS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace"]


def theme() -> gr.themes.Base:
    """Gradio's default look with system fonts: the page needs nothing from the internet."""
    import gradio as gr

    return gr.themes.Default(font=SANS, font_mono=MONO)


CSS = """
.nw-header h1 {margin: 0.2rem 0 0.1rem; font-size: 1.5rem; text-align: center;}
.nw-header p {margin: 0 0 0.4rem; text-align: center; color: var(--body-text-color); opacity: 0.75;}
.nw-direct {font-size: 1.15em; margin-bottom: 0.35rem;}
.nw-direct strong {font-weight: 700;}
.nw-sources {margin-top: 0.75rem; display: flex; flex-direction: column; gap: 0.5rem;}
.nw-cite {border-left: 3px solid var(--color-accent); padding: 0.35rem 0.6rem;
  background: var(--background-fill-secondary); border-radius: 4px;}
.nw-related {border: 1px dashed var(--border-color-primary); padding: 0.35rem 0.6rem; border-radius: 4px;
  opacity: 0.85;}
.nw-cite-head {font-size: 0.85em; margin-bottom: 0.2rem;}
.nw-cite-head .nw-src {opacity: 0.7;}
.nw-cite-foot {font-size: 0.8em; margin-top: 0.2rem;}
.nw-cite-foot a {color: var(--color-accent);}
.nw-passage {font-size: 0.92em; line-height: 1.45; overflow-wrap: anywhere;}
.nw-passage mark.nw-quote {background: #ffe066; color: #1a1a1a; padding: 0 2px; border-radius: 2px;}
.nw-passage mark.nw-answer {background: #f59f00; color: #1a1a1a; font-weight: 700; padding: 0 1px;}
.nw-ref {font-weight: 600; color: var(--color-accent);}
.nw-abstain {margin-top: 0.4rem; font-size: 0.85em; opacity: 0.75;}
.nw-notice {margin-top: 0.4rem; font-size: 0.85em; font-style: italic;}
.nw-used {margin-top: 0.3rem; font-size: 0.85em; opacity: 0.85;}
#nw-focus {padding: 0.3rem 0.5rem;}
#nw-focus .token {font-size: 0.85em;}
.nw-error {color: var(--error-text-color, #b91c1c);}
.nw-docs table {width: 100%; border-collapse: collapse;}
.nw-docs th, .nw-docs td {text-align: left; padding: 0.3rem 0.5rem;
  border-bottom: 1px solid var(--border-color-primary);}
.nw-docs td.num, .nw-docs th.num {text-align: right;}
.nw-docs .src {font-size: 0.85em; opacity: 0.7;}
.nw-doc h3 {margin: 0.3rem 0;}
.nw-doc-facts {opacity: 0.75; margin: 0 0 0.4rem;}
.nw-doc-text {white-space: pre-wrap; line-height: 1.5; max-height: 60vh; overflow-y: auto;
  border: 1px solid var(--border-color-primary); padding: 0.5rem 0.7rem; border-radius: 4px;}
.nw-doc-text .nw-title {font-weight: 700;}
.nw-doc-text .nw-date, .nw-doc-text .nw-author {font-style: italic;}
.nw-doc-text .nw-left-out {opacity: 0.45; text-decoration: line-through;}
.nw-doc-text mark.nw-at {background: #ffe066; color: #1a1a1a;}
"""

#: Runs once on page load. A "Show in document" link in a chat message puts its target into the
#: hidden #nw-jump textbox; the app's Python then opens the Documents tab at that passage.
JS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a.nw-open');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const box = document.querySelector('#nw-jump textarea, #nw-jump input');
    if (!box) return;
    box.value = link.getAttribute('href') + '#' + Date.now();
    box.dispatchEvent(new Event('input', {bubbles: true}));
  }, true);
}
"""
