"""Start the web chat: `python3 app.py` (sets up .venv/ and builds index/ on the first run)."""

from assistant._venv import ensure_venv

if __name__ == "__main__":
    ensure_venv()

    from assistant.web.app import launch

    launch()
