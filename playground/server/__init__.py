"""The app server's process machinery: training processes and the runs they hold.

``pool`` is the server's side (which process holds which run, the line to train, parking runs
on disk); ``worker`` the training processes' side and what crosses the pipe; ``launch`` and
``warm`` how those processes start, from a fork server that has imported torch. The engine
(``playground``) never imports this package; the page (``playground.ui``) does.
"""
