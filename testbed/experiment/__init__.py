"""`testbed experiment`: one scenario run over a grid of field values, then compared."""
