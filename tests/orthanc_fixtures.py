"""A real test PACS: Orthanc (Debian packages orthanc + orthanc-dicomweb) started once per test session on
free localhost ports, storage in a temporary folder, the DICOMweb plugin on, basic auth with a random
password, our AE (CARDIOTRACE) registered as a modality with its own C-MOVE port; the demo echo study
(A4C + A2C) and the demo cine MR stack are uploaded. Stopped at the end of the session."""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"
ORTHANC_AET = "ORTHANC"
OUR_AET = "CARDIOTRACE"
USER = "cardiotrace-test"


@dataclass(frozen=True)
class OrthancServer:
    http_port: int
    dicom_port: int
    move_port: int  # where our storage SCP listens for C-MOVE (registered in Orthanc's modalities)
    password: str
    echo_study_uid: str
    mr_study_uid: str

    @property
    def node(self) -> str:
        return f"{ORTHANC_AET}@127.0.0.1:{self.dicom_port}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.base_url}/dicom-web"

    @property
    def auth(self) -> tuple[str, str]:
        return USER, self.password

    def env(self) -> dict:
        """The environment that gives DICOMweb calls our credentials."""
        return {"CARDIOTRACE_DICOMWEB_USER": USER, "CARDIOTRACE_DICOMWEB_PASSWORD": self.password}

    def rest(self, method: str, path: str, **kwargs):
        import requests

        response = requests.request(method, self.base_url + path, auth=self.auth, timeout=30, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dicomweb_plugin() -> str | None:
    try:
        files = subprocess.run(["dpkg", "-L", "orthanc-dicomweb"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    found = [line for line in files.splitlines() if "/plugins/" in line and ".so" in line]
    found = found or [line for line in files.splitlines() if line.endswith(".so") or ".so." in line]
    return found[0] if found else None


def _config(folder: Path, http_port: int, dicom_port: int, move_port: int, password: str, plugin: str) -> dict:
    return {
        "Name": "cardiotrace-test", "StorageDirectory": str(folder / "db"), "IndexDirectory": str(folder / "db"),
        "HttpPort": http_port, "DicomPort": dicom_port, "DicomAet": ORTHANC_AET, "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True, "RegisteredUsers": {USER: password}, "Plugins": [plugin],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        "DicomModalities": {"cardiotrace": [OUR_AET, "127.0.0.1", move_port]},
        "DicomCheckCalledAet": True, "DicomAssociationCloseDelay": 0, "DicomScuTimeout": 5,
        "StableAge": 1, "ConcurrentJobs": 1, "HttpServerThreads": 8, "SaveJobs": False,
    }


def _upload(server: OrthancServer, files: list[Path]) -> None:
    for f in files:
        server.rest("POST", "/instances", data=f.read_bytes())


def _wait(server: OrthancServer, process: subprocess.Popen, log: Path, timeout_s: float = 30.0) -> None:
    import requests

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Orthanc exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if requests.get(server.base_url + "/system", auth=server.auth, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"Orthanc did not answer /system within {timeout_s} s:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory) -> OrthancServer:
    """The running test PACS with the demo studies; skipped with the reason when Orthanc is not installed."""
    import pydicom

    plugin = dicomweb_plugin()
    if not Path(ORTHANC).exists() or plugin is None:
        pytest.skip("Orthanc or its DICOMweb plugin is not installed (`make test` installs the Debian packages)")
    folder = tmp_path_factory.mktemp("orthanc")
    ports = [free_port() for _ in range(3)]
    while len(set(ports)) < 3:
        ports = [free_port() for _ in range(3)]
    password = secrets.token_urlsafe(12)
    (folder / "config.json").write_text(json.dumps(_config(folder, *ports, password, plugin), indent=2))
    log = folder / "orthanc.log"
    echo_files = [DEMO / "a4c.dcm", DEMO / "a2c.dcm"]
    mr_files = sorted((DEMO / "sax").glob("*.dcm"))
    server = OrthancServer(
        *ports,
        password,
        echo_study_uid=str(pydicom.dcmread(echo_files[0], stop_before_pixels=True).StudyInstanceUID),
        mr_study_uid=str(pydicom.dcmread(mr_files[0], stop_before_pixels=True).StudyInstanceUID),
    )
    with open(log, "wb") as out:
        process = subprocess.Popen([ORTHANC, str(folder / "config.json")], stdout=out, stderr=subprocess.STDOUT,
                                   cwd=folder)
    try:
        _wait(server, process, log)
        _upload(server, echo_files + mr_files)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class ResultStudies:
    """Copies of the demo echo clip and MR stack under new UIDs (their own studies in Orthanc), for tests
    that store results: the demo studies the query tests count stay as they are."""

    echo_file: Path
    echo_study_uid: str
    mr_folder: Path
    mr_study_uid: str
    echo_labels: Path = DEMO / "a4c.truth.npz"
    mr_labels: Path = DEMO / "sax.truth.npz"


def copy_with_new_uids(files: list[Path], out_dir: Path, patient_id: str) -> str:
    """Write `files` (one study) to out_dir with new study, series and instance UIDs; returns the study UID."""
    import pydicom
    from pydicom.uid import generate_uid

    out_dir.mkdir(parents=True, exist_ok=True)
    study, series = generate_uid(), {}
    for f in files:
        ds = pydicom.dcmread(f)
        ds.StudyInstanceUID, ds.PatientID = study, patient_id
        ds.SeriesInstanceUID = series.setdefault(str(ds.SeriesInstanceUID), generate_uid())
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.save_as(out_dir / f.name, enforce_file_format=True)
    return study


@pytest.fixture(scope="session")
def result_studies(orthanc, tmp_path_factory) -> ResultStudies:
    folder = tmp_path_factory.mktemp("result-studies")
    echo_uid = copy_with_new_uids([DEMO / "a4c.dcm"], folder / "echo", "RESULTS-ECHO")
    mr_uid = copy_with_new_uids(sorted((DEMO / "sax").glob("*.dcm")), folder / "sax", "RESULTS-MR")
    _upload(orthanc, [folder / "echo" / "a4c.dcm", *sorted((folder / "sax").glob("*.dcm"))])
    return ResultStudies(folder / "echo" / "a4c.dcm", echo_uid, folder / "sax", mr_uid)
