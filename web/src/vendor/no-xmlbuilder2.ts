/**
 * Stands in for xmlbuilder2 in the build (vite.config.ts). vtk.js reads and writes its XML
 * formats with it, and cornerstone3D imports vtk.js's XML reader for one thing: surface meshes
 * in VTP files (`Mesh` in its cache). Nadir's viewer shows images and never loads a mesh, so
 * the reader is never called; the real xmlbuilder2 and its XML DOM, URL and YAML libraries
 * were about 1.1 MB of the review chunk's source, parsed at every cold visit.
 * Should anything call it, it fails with this message rather than misread a file.
 */
export function create(): never {
  throw new Error("VTK XML meshes are not part of Nadir's viewer (xmlbuilder2 is left out of the build)");
}
