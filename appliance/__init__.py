"""The SALVE appliance daemon that reports a modem's cell observations to the GMLC."""
