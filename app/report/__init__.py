"""PDF report and exports."""
