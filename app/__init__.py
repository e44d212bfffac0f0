"""CardioTrace: offline viewer and analysis for echocardiography and cine MRI."""

__version__ = "0.1.0"
