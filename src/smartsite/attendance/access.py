"""The attendance routes' expectations for the generated permission matrix
(tests/support/matrix.py): who may open each route."""

ROUTES: dict = {}
