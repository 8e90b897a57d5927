# Mock package aie.extras.dialects (eudsl-python-extras): value classes with Python operators.
