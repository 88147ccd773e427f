"""The page: Streamlit runs this file for every visitor (see app.py)."""

if __name__ == "__main__":  # a training process re-imports the main file as __mp_main__: no page there
    from playground.ui.page import main

    main()
