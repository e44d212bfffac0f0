"""The study `cardiotrace analyze` measures: its PATHs read as recordings under one memory budget, checked to be
one patient's, one-phase files joined as the phases of one recording, and the recordings the analysis cannot take
left out with a line saying why."""

from __future__ import annotations

import sys
from pathlib import Path


def load_study(paths: list[Path], options: list, stream=None) -> list:
    """The recordings of the PATHs, held together for the study (limits.StudyBudget: LoadError, before the
    system runs out of memory, when they are too many for that); several are read under a bar on a terminal."""
    from app.data.readers.limits import StudyBudget
    from app.workflow.analyze import load
    from app.workflow.terminal_progress import TerminalProgress

    bar = TerminalProgress(stream or sys.stderr, total=len(paths)) if len(paths) > 1 else None
    budget, recordings = StudyBudget(), []
    try:
        for i, (path, opts) in enumerate(zip(paths, options, strict=True)):
            if bar is not None:
                bar.show(i, f"reading {i + 1}/{len(paths)}: {path.name}")
            recording = load(path, opts)
            budget.add(path, recording.image_bytes)
            recordings.append(recording)
    finally:
        if bar is not None:
            bar.close()
    return recordings


def check_one_patient(paths: list[Path], recordings, same_patient: bool = False) -> list:
    """Several PATHs are one study: refuse recordings of different patients (or exams), naming both, and
    recordings whose identities cannot be compared unless the user vouches (--same-patient). Returns the
    recordings, each with a note naming the files taken on the user's word."""
    from dataclasses import replace

    from app.commands.usage import UsageError
    from app.workflow.patients import DIFFERENT, UNKNOWN, compare, describe, identity, study_identity

    vouched = []
    for k in range(1, len(recordings)):
        verdict, field = compare(study_identity(r.patient for r in recordings[:k]), identity(recordings[k].patient))
        if verdict == DIFFERENT:
            first = next((i for i in range(k) if compare(identity(recordings[i].patient),
                                                         identity(recordings[k].patient))[0] == DIFFERENT), 0)
            raise UsageError(
                f"{paths[first]} ({describe(recordings[first].patient)}) and {paths[k]} "
                f"({describe(recordings[k].patient)}) are not one study (different {field}): "
                "analyze them one at a time, or as a batch with --out")
        if verdict == UNKNOWN and not same_patient:
            others = ", ".join(str(p) for p in paths[:k])
            raise UsageError(
                f"{others} and {paths[k]}: nothing tells whether they are one patient (no patient ID, name + "
                "birth date or Study Instance UID on both sides); add --same-patient if they are, or analyze "
                "them one at a time, or as a batch with --out")
        if verdict == UNKNOWN:
            vouched.append(paths[k].name)
    if not vouched:
        return list(recordings)
    # On every recording: a joined ED/ES pair keeps the first file's notes (app.workflow.phase_files).
    note = (f"{paths[0].name} and {', '.join(vouched)} taken as one patient on the user's word (--same-patient): "
            "the files carry no identity to compare")
    return [replace(r, reader_notes=(*r.reader_notes, note)) for r in recordings]


def leave_out_refused(paths, recordings, options, label_files):
    """Of several PATHs (a study, e.g. retrieved from a PACS), the recordings the analysis cannot take (a colour
    Doppler clip beside the grey-scale ones) are left out with a line saying why; one PATH alone is refused."""
    from app.commands.usage import UsageError
    from app.workflow.analyze import refusal

    why = [refusal(r) if len(paths) > 1 else "" for r in recordings]
    if all(why):
        raise UsageError(f"{paths[0]}: {why[0]}")
    for path, reason in zip(paths, why, strict=True):
        if reason:
            print(f"left out {path}: {reason}", file=sys.stderr)
    kept = [i for i, reason in enumerate(why) if not reason]
    return ([paths[i] for i in kept], [recordings[i] for i in kept], [options[i] for i in kept],
            [label_files[i] for i in kept], [(p, r) for p, r in zip(paths, why, strict=True) if r])


def joined_phases(paths, recordings, options, label_files):
    """One-phase recordings given together (CAMUS's 4CH_ED / 4CH_ES frames, ACDC's frameED / frameES stacks) are
    the phases of one recording per view (app.workflow.phase_files): one analysis with EDV/ESV/EF. Groups of
    different geometry stay separate, with a line saying why. Label files given for every PATH join with their
    recordings (each read against its own file); given for some only, nothing is joined. Label entries of a
    joined recording come back as (name, labels array)."""
    import numpy as np

    from app.commands.analyze_io import load_labels
    from app.workflow.phase_files import join_where_possible

    if any(label_files) and not all(label_files):
        return paths, recordings, options, label_files
    joined, sources, problems = join_where_possible(recordings)
    for line in problems:
        print(f"note: {line}", file=sys.stderr)
    labels_out = []
    for group in sources:
        if len(group) > 1:
            print(f"{', '.join(paths[i].name for i in group)}: one phase each, analyzed as one recording",
                  file=sys.stderr)
        if len(group) > 1 and label_files[group[0]]:
            maps = [load_labels(Path(label_files[i]), recordings[i]) for i in group]
            name = " + ".join(Path(label_files[i]).name for i in group)
            labels_out.append((name, np.concatenate(maps, axis=-3)))
        else:
            labels_out.append(label_files[group[0]])
    firsts = [group[0] for group in sources]
    return [paths[i] for i in firsts], joined, [options[i] for i in firsts], labels_out


def read_study(args):
    """The study's PATHs (with --from-node, the retrieved series), each file once with its per-PATH view and label
    file, read and checked: (paths, recordings, options, label files, [(path, why) left out])."""
    from dataclasses import replace

    from app.commands import analyze_pacs
    from app.commands.analyze_options import drop_duplicates, per_path
    from app.report import cli_hooks

    paths = [Path(p) for p in analyze_pacs.resolve_paths(args)]
    views = per_path(args.view, len(paths), "view", shared=True)
    label_files = per_path(args.labels, len(paths), "labels")
    # before reading: a file given twice would be read, held and analyzed twice as two recordings of the study
    paths, views, label_files = drop_duplicates(paths, views, label_files, args.series)
    shared = cli_hooks.analysis_options(args)  # the one reading of the options, as --out's
    options = [replace(shared, view=view, series_key=args.series) for view in views]
    recordings = load_study(paths, options)
    recordings = check_one_patient(paths, recordings, args.same_patient)
    paths, recordings, options, label_files = joined_phases(paths, recordings, options, label_files)
    return leave_out_refused(paths, recordings, options, label_files)
