"""Receipt printers: the contract (`base`), the receipt renderer (`render`), the ESC/POS command
stream (`escpos`), transports (`transport`), the ESC/POS driver (`escpos_printer`) and the
simulator (`simulator`).

Receipts are printed as a raster image, never as text: Chinese (with HKSCS characters) cannot
be printed dependably as text on the thermal printers sold in Hong Kong and Macau.
"""
