// The layout check lives in libs/storage so the API can run it at registration without loading
// this compute library; re-exported so scanImageFolder stays part of this library's API.
export { IMAGE_EXTENSIONS, scanImageFolder, type ImageFile, type ImageFolderScan } from '@trainyard/storage';
