"""What tests and benchmarks drive the speaker with, kept out of the product (as gpiozero keeps its
mock pins in gpiozero.pins.mock): nothing in speaker/ outside this package imports it."""
