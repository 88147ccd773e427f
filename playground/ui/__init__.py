"""The Streamlit user interface. The engine (the rest of ``playground``) never imports this."""
