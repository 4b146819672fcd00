"""The train side of the app: the train panel, its live curves, the runs list, results and export dialogs.

Nothing here imports torch at module level: the editor starts without loading it, and training itself runs in a
child process (runtime.training.process)."""
