"""Building blocks of the capture reader: link/IP decoding, TCP reassembly, protocol parsers."""
