"""The local AWS emulator (moto on 127.0.0.1) and its fidelity fixes; needs the ``local`` extra."""
