"""Web: the Gradio chat, its typed API and the MCP server, over the public ``Assistant``.

``create_app`` builds the Blocks app (chat, Documents tab, uploads, rebuild); ``launch`` serves it
(``python app.py``, ``assistant web``). Gradio is imported only when the app is built.
"""

from assistant.web.app import create_app, launch

__all__ = ["create_app", "launch"]
