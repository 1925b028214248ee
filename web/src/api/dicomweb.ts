/**
 * Images come through Nadir's /dicom-web/ proxy (QIDO-RS, WADO-RS), on the same origin and
 * with the same bearer token as the API: Orthanc is never reached from the browser.
 */
import { ApiError, send, type Send } from './client';

/** One DICOM JSON object (PS3.18 F.2): tag -> {vr, Value}. */
export type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

export const DICOMWEB_ROOT = '/dicom-web';

const metadataRequests = new Map<string, Promise<DicomJson[]>>();

/**
 * The series' image metadata (WADO-RS), requested once per page: a request started early
 * (while the viewer's code loads) is the one the viewer then uses.
 */
export function seriesMetadata(studyUid: string, seriesUid: string): Promise<DicomJson[]> {
  let request = metadataRequests.get(seriesUid);
  if (!request) {
    request = fetchSeriesMetadata(studyUid, seriesUid);
    request.catch(() => metadataRequests.delete(seriesUid));
    metadataRequests.set(seriesUid, request);
  }
  return request;
}

/**
 * Take a request for the series' metadata made elsewhere (the review's preload worker) as
 * this page's, unless the page has asked already. Should it fail, the next use asks again.
 */
export function adoptSeriesMetadata(seriesUid: string, request: Promise<DicomJson[]>): void {
  if (metadataRequests.has(seriesUid)) return;
  request.catch(() => metadataRequests.delete(seriesUid));
  metadataRequests.set(seriesUid, request);
}

export function prefetchSeriesMetadata(studyUid: string, seriesUid: string): void {
  seriesMetadata(studyUid, seriesUid).catch(() => undefined);
}

/** The WADO-RS path of a series' metadata (answered from Nadir's index). */
export function seriesMetadataPath(studyUid: string, seriesUid: string): string {
  return `${DICOMWEB_ROOT}/studies/${studyUid}/series/${seriesUid}/metadata`;
}

/** The answer to a series' metadata request sent with `by` (this page's client, or the
 * preload worker's); an error answer throws ApiError naming the series. */
export async function seriesMetadataAnswer(by: Send, studyUid: string, seriesUid: string): Promise<Response> {
  const path = seriesMetadataPath(studyUid, seriesUid);
  const response = await by('GET', path, { headers: { Accept: 'application/dicom+json' } });
  if (!response.ok) {
    throw new ApiError(response.status, `image metadata of series ${seriesUid}: ${response.statusText}`, path);
  }
  return response;
}

async function fetchSeriesMetadata(studyUid: string, seriesUid: string): Promise<DicomJson[]> {
  const response = await seriesMetadataAnswer(send, studyUid, seriesUid);
  return (await response.json()) as DicomJson[];
}

/** The cornerstone image id of one frame (WADO-RS frames resource). */
export function frameImageId(studyUid: string, seriesUid: string, sopUid: string, frame = 1): string {
  const origin = globalThis.location?.origin ?? '';
  return `wadors:${origin}${DICOMWEB_ROOT}/studies/${studyUid}/series/${seriesUid}/instances/${sopUid}/frames/${frame}`;
}

export function value<T = unknown>(ds: DicomJson, tag: string, index = 0): T | undefined {
  return ds[tag]?.Value?.[index] as T | undefined;
}

export function values(ds: DicomJson, tag: string): unknown[] {
  return ds[tag]?.Value ?? [];
}

export function numbers(ds: DicomJson, tag: string): number[] {
  return values(ds, tag).map((v) => Number(v));
}

/** The two functional group sequences of an enhanced multi-frame object (PS3.3 C.7.6.16). */
const SHARED_GROUPS = '52009229';
const PER_FRAME_GROUPS = '52009230';

/** Number of Frames (PS3.3 C.7.6.6), 1 when absent. */
export function frameCount(ds: DicomJson): number {
  const n = Number(value(ds, '00280008') ?? 1);
  return Number.isInteger(n) && n > 1 ? n : 1;
}

/**
 * The attributes that hold for one frame (1-based) of an instance: an enhanced or
 * legacy-converted multi-frame object keeps each frame's position, orientation, pixel
 * spacing, rescale and window in functional group macros, one item shared by all frames and
 * one per frame. Their attributes are laid over the top-level ones, the shared groups first,
 * then the frame's own (as the image loader and the server's index do). A single-frame
 * image's metadata is returned as it is.
 */
export function frameMetadata(ds: DicomJson, frame: number): DicomJson {
  const shared = ds[SHARED_GROUPS]?.Value?.[0] as DicomJson | undefined;
  const own = ds[PER_FRAME_GROUPS]?.Value?.[frame - 1] as DicomJson | undefined;
  if (!shared && !own) return ds;
  const flat: DicomJson = { ...ds };
  delete flat[SHARED_GROUPS];
  delete flat[PER_FRAME_GROUPS];
  for (const item of [shared, own]) {
    for (const macro of Object.values(item ?? {})) {
      const inner = macro.Value?.[0];
      if (inner && typeof inner === 'object') Object.assign(flat, inner as DicomJson);
    }
  }
  return flat;
}

export const Tag = {
  SOPInstanceUID: '00080018',
  StudyDate: '00080020',
  Modality: '00080060',
  SeriesDescription: '0008103E',
  SliceThickness: '00180050',
  SpacingBetweenSlices: '00180088',
  InstanceNumber: '00200013',
  ImagePositionPatient: '00200032',
  ImageOrientationPatient: '00200037',
  NumberOfFrames: '00280008',
  Rows: '00280010',
  Columns: '00280011',
  PixelSpacing: '00280030',
  WindowCenter: '00281050',
  WindowWidth: '00281051',
} as const;

const thumbnails = new Map<string, Promise<Blob>>();

/**
 * A small image of the series (PS3.18 10.4.4, its Thumbnail resource, scaled by `viewport`),
 * asked once per page. Nadir answers it with the series' middle image rendered (its index
 * picks the image); Orthanc's plugin would render a series' first image, which for a CT is
 * its topmost (the shoulders), not what the series shows. One request: finding the middle
 * image by a QIDO-RS search read every file of the series (3 s for 300 slices while the
 * panes prefetched).
 */
export function seriesThumbnail(studyUid: string, seriesUid: string, size: number): Promise<Blob> {
  let request = thumbnails.get(seriesUid);
  if (!request) {
    request = fetchThumbnail(studyUid, seriesUid, size);
    request.catch(() => thumbnails.delete(seriesUid));
    thumbnails.set(seriesUid, request);
  }
  return request;
}

async function fetchThumbnail(studyUid: string, seriesUid: string, size: number): Promise<Blob> {
  const path = `${DICOMWEB_ROOT}/studies/${studyUid}/series/${seriesUid}/thumbnail?viewport=${size},${size}&quality=80`;
  const response = await send('GET', path, { headers: { Accept: 'image/jpeg' } });
  if (!response.ok) throw new ApiError(response.status, `thumbnail of series ${seriesUid}: ${response.statusText}`, path);
  return response.blob();
}
