"""What only the tests and benchmarks use (kept out of the product, as gpiozero keeps `pins/mock.py`)."""
