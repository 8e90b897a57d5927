# Mock package aie.dialects: the checkout's aie.py and aiex.py are linked in beside these mocks of the tablegen-generated and upstream-MLIR dialect modules.
