"""PDF report and exports (imports nothing heavy at package level).

    from app.report.build import report_from_analyses      # RecordingAnalysis list -> ReportData
    from app.report.pdf import write_pdf                    # ReportData -> PDF (A4 / Letter)
    from app.report.from_study import write_study_report    # the viewer's StudyState -> PDF (edits applied)
    from app.report import exports                          # measurements JSON/CSV, contours JSON, NIfTI, cine
    from app.report.exporter import write_exports           # the one exporter (CLI, batch, viewer)
    from app.report import cli_hooks                        # the analyze command's report/batch options
"""
