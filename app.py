"""Backprop Playground: `streamlit run app.py`. The page lives in playground/ui/page.py."""

# Streamlit runs this file as __main__. A training worker process re-imports the
# main file as __mp_main__ (multiprocessing does); the guard keeps it from
# drawing a page there.
if __name__ == "__main__":
    from playground.ui.page import main

    main()
