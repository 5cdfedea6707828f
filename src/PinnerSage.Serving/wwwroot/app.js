// PinnerSage page script (placeholder; the web page owns this file).
