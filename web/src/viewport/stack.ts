/**
 * A series as the viewer scrolls it: its images ordered along the series normal, head
 * first for axial slices (as scanners acquire them), with each image's position in mm.
 */
import { Tag, frameCount, frameImageId, frameMetadata, numbers, seriesMetadata, value, type DicomJson } from '../api/dicomweb';
import { imageToPatient, patientToImage, positionAlong, sliceNormal, type PlaneGeometry, type Vec3 } from './geometry';

export interface StackImage {
  imageId: string;
  sopInstanceUid: string;
  /** The frame (1-based) of a multi-frame instance; null for a single-frame image. */
  frame: number | null;
  instanceNumber: number | null;
  geometry: PlaneGeometry;
  /** Position along the series normal (mm): the number shown and synchronised on. */
  positionMm: number;
  /** The instance's DICOM JSON, as the image loader takes it (a multi-frame one's whole). */
  metadata: DicomJson;
}

/** The key of an image in a stack: its SOP Instance UID, and its frame when it has one. */
export const imageKey = (sopInstanceUid: string, frame: number | null | undefined): string =>
  frame ? `${sopInstanceUid}#${frame}` : sopInstanceUid;

export class SeriesStack {
  readonly normal: Vec3;
  private readonly bySop: Map<string, number>;
  private readonly byImageId: Map<string, number>;

  constructor(
    readonly studyUid: string,
    readonly seriesUid: string,
    readonly images: StackImage[],
    readonly description: string,
    readonly sliceThicknessMm: number | null,
  ) {
    if (images.length === 0) throw new Error(`series ${seriesUid} has no image`);
    this.normal = sliceNormal(images[0].geometry);
    this.bySop = new Map();
    images.forEach((im, i) => {
      this.bySop.set(imageKey(im.sopInstanceUid, im.frame), i);
      if (!this.bySop.has(im.sopInstanceUid)) this.bySop.set(im.sopInstanceUid, i);
    });
    this.byImageId = new Map(images.map((im, i) => [im.imageId, i]));
  }

  get imageIds(): string[] {
    return this.images.map((im) => im.imageId);
  }

  get positions(): number[] {
    return this.images.map((im) => im.positionMm);
  }

  /** The image of an instance, or of one frame (1-based) of a multi-frame instance (its first without a frame). */
  indexOfSop(sopInstanceUid: string, frame: number | null = null): number {
    return this.bySop.get(imageKey(sopInstanceUid, frame)) ?? -1;
  }

  indexOfImageId(imageId: string): number {
    return this.byImageId.get(imageId) ?? -1;
  }

  /** Distance between neighbouring images along the normal (mm), from the positions. */
  get spacingMm(): number | null {
    if (this.images.length < 2) return this.sliceThicknessMm;
    return Math.abs(this.images[1].positionMm - this.images[0].positionMm);
  }

  /** The image nearest a position along *this* series' normal. */
  nearestTo(positionMm: number): number {
    let best = 0;
    for (let i = 1; i < this.images.length; i++) {
      if (Math.abs(this.images[i].positionMm - positionMm) < Math.abs(this.images[best].positionMm - positionMm)) best = i;
    }
    return best;
  }

  /** The image nearest a patient point (projected on the normal). */
  nearestToPoint(point: Vec3): number {
    return this.nearestTo(positionAlong(point, this.normal));
  }

  imageToPatient(index: number, row: number, column: number): Vec3 {
    return imageToPatient(this.images[index].geometry, row, column);
  }

  patientToImage(index: number, point: Vec3): [number, number] {
    return patientToImage(this.images[index].geometry, point);
  }

  static async load(studyUid: string, seriesUid: string): Promise<SeriesStack> {
    const metadata = await seriesMetadata(studyUid, seriesUid);
    return SeriesStack.fromMetadata(studyUid, seriesUid, metadata);
  }

  static fromMetadata(studyUid: string, seriesUid: string, metadata: DicomJson[]): SeriesStack {
    // A multi-frame instance (enhanced CT/MR, legacy-converted) is one image per frame, each
    // placed by its own functional groups.
    const frames = metadata.flatMap((ds) =>
      frameCount(ds) > 1
        ? Array.from({ length: frameCount(ds) }, (_, k) => ({ ds, frame: k + 1 as number | null, flat: frameMetadata(ds, k + 1) }))
        : [{ ds, frame: null as number | null, flat: ds }],
    );
    const withPixels = frames.filter(({ flat }) => value(flat, Tag.Rows) !== undefined && numbers(flat, Tag.ImagePositionPatient).length === 3);
    const images = withPixels.map(({ ds, frame, flat }) => stackImage(studyUid, seriesUid, ds, flat, frame));
    const normal = images.length ? sliceNormal(images[0].geometry) : ([0, 0, 1] as Vec3);
    for (const im of images) im.positionMm = positionAlong(im.geometry.position, normal);
    // Head first (descending along the normal); instance and frame numbers break ties.
    images.sort((a, b) => b.positionMm - a.positionMm || (a.instanceNumber ?? 0) - (b.instanceNumber ?? 0) || (a.frame ?? 0) - (b.frame ?? 0));
    const first = withPixels[0]?.flat;
    const description = first ? String(value(first, Tag.SeriesDescription) ?? '') : '';
    const thickness = first ? Number(value(first, Tag.SliceThickness) ?? NaN) : NaN;
    return new SeriesStack(studyUid, seriesUid, images, description, Number.isFinite(thickness) ? thickness : null);
  }
}

function stackImage(studyUid: string, seriesUid: string, instance: DicomJson, ds: DicomJson, frame: number | null): StackImage {
  const sop = String(value(ds, Tag.SOPInstanceUID));
  const orientation = numbers(ds, Tag.ImageOrientationPatient);
  const iop = orientation.length === 6 ? orientation : [1, 0, 0, 0, 1, 0];
  const spacing = numbers(ds, Tag.PixelSpacing);
  const geometry: PlaneGeometry = {
    position: numbers(ds, Tag.ImagePositionPatient) as Vec3,
    rowCosines: iop.slice(0, 3) as Vec3,
    columnCosines: iop.slice(3, 6) as Vec3,
    spacing: spacing.length === 2 ? [spacing[0], spacing[1]] : [1, 1],
    rows: Number(value(ds, Tag.Rows)),
    columns: Number(value(ds, Tag.Columns)),
  };
  const instanceNumber = value<number>(ds, Tag.InstanceNumber);
  return {
    imageId: frameImageId(studyUid, seriesUid, sop, frame ?? 1),
    sopInstanceUid: sop,
    frame,
    instanceNumber: instanceNumber === undefined ? null : Number(instanceNumber),
    geometry,
    positionMm: 0,
    metadata: instance,
  };
}
