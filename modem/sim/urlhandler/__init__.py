"""pyserial URL handlers of the simulator (``sim://``); see :mod:`.protocol_sim`."""
